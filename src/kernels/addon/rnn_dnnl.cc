// rnn_dnnl: whole-sequence SimpleRNN / LSTM / GRU forward and backward on oneDNN's RNN primitives, and an
// inference forward of its own that reads the input projection from a table (inputTable, forwardTable: below).
//
// One `Sequence` per (cell, T, B, D, U) caches its primitives (`Prims`, one per chunk shape), the weights
// converted to their layouts (`Converted`) and every buffer, so once its shapes have been seen a training
// step allocates nothing. Weights stay in tfjs layout on the JS side: kernel [D, G*U], recurrent kernel
// [U, G*U], bias [G*U], with tfjs's gate order (LSTM i,f,c,o; GRU z,r,h), which is oneDNN's `ldigo` /
// `ldgo` layout and gate order (LSTM i,f,c̃,o; GRU u,r,o). tfjs's GRU is the reset_after=false form,
// oneDNN's `vanilla_gru`. Inputs and input gradients are batch-major [B, T, D] like tfjs.
//
// Two oneDNN 2.6 defects are designed around (the parity tests in test/models/fused.test.ts catch both):
//  - with batch-major (`ntc`) input the input-weight gradient is wrong: the input is transposed to
//    time-major (`tnc`) here instead;
//  - with an implicit (zero-descriptor) initial state, the LSTM and SimpleRNN backward use h_t instead of
//    h_{t-1} for the recurrent-weight gradient: an explicit zero initial state is passed.
// oneDNN accumulates into the weight-gradient buffers (asked for in tfjs's layout), so they are zeroed
// before every backward, and every chunk's backward adds into the same ones.
//
// Shapes past the lesson's: a Sequence may run both directions (oneDNN's bidirectional_concat: the output
// sequence is [forward h_t, backward h_t] per step, like Keras's Bidirectional(merge_mode='concat'); the
// weights of the two directions are passed one after the other, each in tfjs layout) and may pool its output
// over time: `last` (the lesson's h_T; bidirectional: forward h_{T-1} and backward h_0, what Bidirectional
// without return_sequences returns), `max` or `mean` over all T steps (GlobalMaxPooling1D /
// GlobalAveragePooling1D on return_sequences=True; padding steps are ordinary steps, as they are for stock
// tfjs-layers with an Embedding that has no mask). The gradient of `max` goes to every step equal to the
// maximum, as tfjs's max gradient does. Bidirectional and max-pooled shapes run the whole sequence (no
// shared padding trajectory: see sharesPadding()); a one-direction mean-pooled layer shares it, its pool
// reading the padding row's outputs for the steps where a row has not begun (below). `sequence` pools
// nothing: the outputs are every step's [B, T, F] (return_sequences=True, what `rnn pretrain`'s language
// model reads), and in one direction rows share their padding steps as under `mean` (a row not yet begun
// returns the padding row's outputs there, and their gradients are summed into the padding row's).
//
// Padding (forwardIds): with Keras's 'pre' padding a short review begins with id 0, and until its first word
// every such row has the same input and the same zero start, hence the same state. The rows are sorted by
// their leading padding and the steps cut into chunks (16 steps): a chunk runs only the rows whose review
// has begun by its end, plus, while later chunks still have rows to begin, one "padding row" that carries the
// common trajectory; a row that begins inside a chunk starts there from the padding row's state (the padding
// steps it then runs reproduce that trajectory exactly). The backward sums the state gradients of the rows
// that began in a chunk into the padding row's. Averaged over time, a row's steps before it begins are the
// padding row's steps of those chunks: the mean reads them there, and their share of its gradient is summed
// into the padding row's output gradient. Same function, same gradients (only float sums run in
// another order); on IMDB about 3/4 of the row-steps run.
//
// On two OpenMP threads (two cores) a batch of 4 or more rows is split in two halves (`Part`s) that run side
// by side, one thread each (the weight gradients are summed): per step the recurrent products are small
// (64 × 128 by 128 × 4·128 for the LSTM), and two independent half-batches keep both cores busy without
// a barrier per step, ~1.2× faster here than one batch on two threads. The RNN primitives then run inside
// an OpenMP parallel region, so they get a user-managed scratchpad: one per half, shared by every Sequence
// of the process (Sequences never run at the same time: JS calls them one after another), so memory is
// what oneDNN's own shared scratchpad would take, not one scratchpad per primitive.
#include <napi.h>
#include <omp.h>
#include <sys/mman.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

enum class Cell { SimpleRNN, LSTM, GRU };
enum class Pool { Last, Max, Mean, Sequence };

int gatesOf(Cell c) { return c == Cell::LSTM ? 4 : c == Cell::GRU ? 3 : 1; }

struct Fwd {
  dnnl::primitive prim;
  memory::desc wl, wi, ws, scratch;
};

struct Bwd {
  dnnl::primitive prim;
  memory::desc wl, wi, scratch;
};

// Scratchpad memory for the half `slot` (0 or 1), shared by all Sequences, grown to the largest request.
class SharedScratch {
 public:
  static void* get(int slot, size_t bytes) {
    Area& a = areas()[slot];
    if (a.bytes < bytes) {
      std::free(a.p);
      a.bytes = (bytes + 4095) / 4096 * 4096;
      a.p = std::aligned_alloc(4096, a.bytes);
      if (!a.p) {
        a.bytes = 0;
        throw std::bad_alloc();
      }
    }
    return a.p;
  }

 private:
  struct Area {
    void* p = nullptr;
    size_t bytes = 0;
  };
  static Area* areas() {
    static Area a[2];
    return a;
  }
};

using dim = memory::dim;

// Grows v to at least n floats, zero-filled (buffers only grow: once every shape has been seen, a step
// allocates nothing).
void fit(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n, 0.0f);
}

// A float buffer wrapped as oneDNN memory (zero-filled on creation): the weights in a primitive's layout.
struct Buf {
  std::vector<float> v;
  memory mem;
  void init(const memory::desc& md, const dnnl::engine& eng) {
    v.assign(md.get_size() / sizeof(float) + 1, 0.0f);
    mem = memory(md, eng, v.data());
  }
};

// The weights converted to the layouts the primitives chose, once per weight version and layout: every
// shape of a Sequence whose primitives chose the same layout shares one copy.
class Converted {
 public:
  // The weights `which` (0: kernel, 1: recurrent kernel) `data`, in tfjs layout `user`, as memory of layout md.
  memory get(int which, const memory::desc& user, const memory::desc& md, const float* data, uint64_t version, const dnnl::engine& eng,
             dnnl::stream& s) {
    Entry* e = nullptr;
    for (Entry& x : entries_)
      if (x.which == which && x.buf.mem.get_desc() == md) e = &x;
    if (!e) {
      entries_.emplace_back();
      e = &entries_.back();
      e->which = which;
      e->buf.init(md, eng);
    }
    if (e->version != version) {
      memory src(user, eng, const_cast<float*>(data));  // only read
      if (user == md) {
        std::memcpy(e->buf.v.data(), data, user.get_size());
      } else {
        dnnl::reorder(src, e->buf.mem).execute(s, src, e->buf.mem);
        s.wait();
      }
      e->version = version;
    }
    return e->buf.mem;
  }

 private:
  struct Entry {
    int which = 0;
    Buf buf;
    uint64_t version = 0;  // versions start at 1
  };
  std::list<Entry> entries_;  // a list: the memory handed out stays where it is
};

// What one execution of a primitive reads and writes: pointers into a Part's buffers.
struct Io {
  const float *x = nullptr, *h0 = nullptr, *c0 = nullptr;
  float *dst = nullptr, *hT = nullptr, *cT = nullptr, *ws = nullptr;
  const float *dDst = nullptr, *dHT = nullptr, *dCT = nullptr;
  float *dX = nullptr, *dH0 = nullptr, *dC0 = nullptr;
};

// The oneDNN primitives for one shape (T steps of B rows). The weight gradients are asked for in tfjs's layout (ldigo), so every shape's backward accumulates
// into the same buffers.
class Prims {
 public:
  // oneThread: the primitives will run on one thread of a parallel region (they are built for one thread)
  // dirs: 1 (left to right) or 2 (both, outputs concatenated)
  Prims(Cell cell, dim T, dim B, dim D, dim U, dim dirs, bool oneThread, const dnnl::engine& eng)
      : eng_(eng), cell_(cell), T_(T), B_(B), D_(D), U_(U), G_(gatesOf(cell)), oneThread_(oneThread),
        dir_(dirs == 2 ? dnnl::rnn_direction::bidirectional_concat : dnnl::rnn_direction::unidirectional_left2right) {
    srcLayer_ = memory::desc({T_, B_, D_}, dt::f32, tag::tnc);
    dstLayer_ = memory::desc({T_, B_, dirs * U_}, dt::f32, tag::tnc);
    iter_ = memory::desc({1, dirs, B_, U_}, dt::f32, tag::ldnc);
    userWl_ = memory::desc({1, dirs, D_, G_, U_}, dt::f32, tag::ldigo);
    userWi_ = memory::desc({1, dirs, U_, G_, U_}, dt::f32, tag::ldigo);
    bias_ = memory::desc({1, dirs, G_, U_}, dt::f32, tag::ldgo);
    anyWl_ = memory::desc({1, dirs, D_, G_, U_}, dt::f32, tag::any);
    anyWi_ = memory::desc({1, dirs, U_, G_, U_}, dt::f32, tag::any);
    attr_.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  }

  // Builds what `training` needs and takes W and R of weights `version` in its layouts from `cache`
  // (sequential: reorders use the library's scratchpad).
  void prepare(bool training, uint64_t version, const float* W, const float* R, Converted& cache, dnnl::stream& s) {
    if (training) {
      ensureTraining();
      trWl_ = cache.get(0, userWl_, train_.wl, W, version, eng_, s);
      trWi_ = cache.get(1, userWi_, train_.wi, R, version, eng_, s);
      bwWl_ = cache.get(0, userWl_, bwd_.wl, W, version, eng_, s);
      bwWi_ = cache.get(1, userWi_, bwd_.wi, R, version, eng_, s);
    } else {
      ensureInference();
      infWl_ = cache.get(0, userWl_, inf_.wl, W, version, eng_, s);
      infWi_ = cache.get(1, userWi_, inf_.wi, R, version, eng_, s);
    }
  }

  // Floats of the training workspace (saved activations) of one forward.
  size_t workspaceFloats() const { return train_.ws.get_size() / sizeof(float) + 1; }

  void forward(bool training, const Io& io, const float* bias, dnnl::stream& s, int slot) {
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, mem(srcLayer_, io.x)}, {DNNL_ARG_SRC_ITER, mem(iter_, io.h0)},
                                            {DNNL_ARG_DST_LAYER, mem(dstLayer_, io.dst)}, {DNNL_ARG_DST_ITER, mem(iter_, io.hT)},
                                            {DNNL_ARG_BIAS, mem(bias_, bias)}};
    if (cell_ == Cell::LSTM) {
      args[DNNL_ARG_SRC_ITER_C] = mem(iter_, io.c0);
      args[DNNL_ARG_DST_ITER_C] = mem(iter_, io.cT);
    }
    const Fwd& f = training ? train_ : inf_;
    args[DNNL_ARG_WEIGHTS_LAYER] = training ? trWl_ : infWl_;
    args[DNNL_ARG_WEIGHTS_ITER] = training ? trWi_ : infWi_;
    if (training) args[DNNL_ARG_WORKSPACE] = mem(train_.ws, io.ws);
    args[DNNL_ARG_SCRATCHPAD] = scratch(f.scratch, slot);
    f.prim.execute(s, args);
    s.wait();
  }

  // The backward of the training forward whose buffers `io` holds; adds the weight gradients into dW, dR, db
  // (tfjs layout).
  void backward(const Io& io, const float* bias, float* dW, float* dR, float* db, dnnl::stream& s, int slot) {
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC_LAYER, mem(srcLayer_, io.x)},  {DNNL_ARG_SRC_ITER, mem(iter_, io.h0)},   {DNNL_ARG_WEIGHTS_LAYER, bwWl_},
        {DNNL_ARG_WEIGHTS_ITER, bwWi_},          {DNNL_ARG_BIAS, mem(bias_, bias)},        {DNNL_ARG_DST_LAYER, mem(dstLayer_, io.dst)},
        {DNNL_ARG_DST_ITER, mem(iter_, io.hT)},      {DNNL_ARG_WORKSPACE, mem(train_.ws, io.ws)}, {DNNL_ARG_DIFF_SRC_LAYER, mem(srcLayer_, io.dX)},
        {DNNL_ARG_DIFF_SRC_ITER, mem(iter_, io.dH0)}, {DNNL_ARG_DIFF_WEIGHTS_LAYER, mem(userWl_, dW)}, {DNNL_ARG_DIFF_WEIGHTS_ITER, mem(userWi_, dR)},
        {DNNL_ARG_DIFF_BIAS, mem(bias_, db)},        {DNNL_ARG_DIFF_DST_LAYER, mem(dstLayer_, io.dDst)}, {DNNL_ARG_DIFF_DST_ITER, mem(iter_, io.dHT)},
        {DNNL_ARG_SCRATCHPAD, scratch(bwd_.scratch, slot)}};
    if (cell_ == Cell::LSTM) {
      args[DNNL_ARG_SRC_ITER_C] = mem(iter_, io.c0);
      args[DNNL_ARG_DST_ITER_C] = mem(iter_, io.cT);
      args[DNNL_ARG_DIFF_SRC_ITER_C] = mem(iter_, io.dC0);
      args[DNNL_ARG_DIFF_DST_ITER_C] = mem(iter_, io.dCT);
    }
    bwd_.prim.execute(s, args);
    s.wait();
  }

 private:
  // ---- primitive construction (lazy: inference-only users never build the training primitives) ----

  template <class P>
  typename P::primitive_desc fwdPd(dnnl::prop_kind pk) {
    auto dir = dir_;
    if constexpr (std::is_same_v<P, dnnl::lstm_forward>) {
      typename P::desc d(pk, dir, srcLayer_, iter_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, iter_);
      return typename P::primitive_desc(d, attr_, eng_);
    } else if constexpr (std::is_same_v<P, dnnl::gru_forward>) {
      typename P::desc d(pk, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      return typename P::primitive_desc(d, attr_, eng_);
    } else {
      typename P::desc d(pk, dnnl::algorithm::eltwise_tanh, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      return typename P::primitive_desc(d, attr_, eng_);
    }
  }

  template <class P>
  Fwd fwdOf(const typename P::primitive_desc& pd) {
    return Fwd{P(pd), pd.weights_layer_desc(), pd.weights_iter_desc(), pd.workspace_desc(), pd.scratchpad_desc()};
  }

  template <class P, class FP>
  Bwd bwdOf(const typename FP::primitive_desc& fpd) {
    using PD = typename P::primitive_desc;
    auto dir = dir_;
    PD pd;
    if constexpr (std::is_same_v<P, dnnl::lstm_backward>) {
      typename P::desc d(dnnl::prop_kind::backward, dir, srcLayer_, iter_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, iter_,
                         srcLayer_, iter_, iter_, userWl_, userWi_, bias_, dstLayer_, iter_, iter_);
      pd = PD(d, attr_, eng_, fpd);
    } else if constexpr (std::is_same_v<P, dnnl::gru_backward>) {
      typename P::desc d(dnnl::prop_kind::backward, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, srcLayer_,
                         iter_, userWl_, userWi_, bias_, dstLayer_, iter_);
      pd = PD(d, attr_, eng_, fpd);
    } else {
      typename P::desc d(dnnl::prop_kind::backward, dnnl::algorithm::eltwise_tanh, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_,
                         dstLayer_, iter_, srcLayer_, iter_, userWl_, userWi_, bias_, dstLayer_, iter_);
      pd = PD(d, attr_, eng_, fpd);
    }
    if (pd.diff_weights_layer_desc() != userWl_ || pd.diff_weights_iter_desc() != userWi_ || pd.diff_bias_desc() != bias_)
      throw std::runtime_error("the backward primitive chose another layout for the weight gradients");
    return Bwd{P(pd), pd.weights_layer_desc(), pd.weights_iter_desc(), pd.scratchpad_desc()};
  }

  template <class FP, class BP>
  void buildTraining() {
    auto fpd = fwdPd<FP>(dnnl::prop_kind::forward_training);
    train_ = fwdOf<FP>(fpd);
    bwd_ = bwdOf<BP, FP>(fpd);
  }

  // oneDNN sizes a primitive's work split by the threads it will have: build it for the threads it gets.
  template <class F>
  void build(F f) {
    const int threads = omp_get_max_threads();
    if (oneThread_) omp_set_num_threads(1);
    try {
      f();
    } catch (...) {
      omp_set_num_threads(threads);
      throw;
    }
    omp_set_num_threads(threads);
  }

  void ensureInference() {
    if (inferReady_) return;
    build([this] {
      switch (cell_) {
        case Cell::LSTM: inf_ = fwdOf<dnnl::lstm_forward>(fwdPd<dnnl::lstm_forward>(dnnl::prop_kind::forward_inference)); break;
        case Cell::GRU: inf_ = fwdOf<dnnl::gru_forward>(fwdPd<dnnl::gru_forward>(dnnl::prop_kind::forward_inference)); break;
        default: inf_ = fwdOf<dnnl::vanilla_rnn_forward>(fwdPd<dnnl::vanilla_rnn_forward>(dnnl::prop_kind::forward_inference)); break;
      }
    });
    inferReady_ = true;
  }

  void ensureTraining() {
    if (trainReady_) return;
    build([this] {
      switch (cell_) {
        case Cell::LSTM: buildTraining<dnnl::lstm_forward, dnnl::lstm_backward>(); break;
        case Cell::GRU: buildTraining<dnnl::gru_forward, dnnl::gru_backward>(); break;
        default: buildTraining<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(); break;
      }
    });
    trainReady_ = true;
  }

  memory mem(const memory::desc& md, const float* p) { return memory(md, eng_, const_cast<float*>(p)); }
  memory scratch(const memory::desc& md, int slot) { return memory(md, eng_, SharedScratch::get(slot, md.get_size())); }

  dnnl::engine eng_;
  dnnl::primitive_attr attr_;
  Cell cell_;
  dim T_, B_, D_, U_, G_;
  bool oneThread_;
  dnnl::rnn_direction dir_;
  memory::desc srcLayer_, dstLayer_, iter_, userWl_, userWi_, bias_, anyWl_, anyWi_;
  bool inferReady_ = false, trainReady_ = false;
  Fwd inf_, train_;
  Bwd bwd_;
  memory infWl_, infWi_, trWl_, trWi_, bwWl_, bwWi_;  // the converted weights of the last prepare
};

// Steps [a, a + T) of a part: the buffers of the rows the plan runs there (sized for the most rows they have had).
struct Chunk {
  dim a = 0, T = 0;
  std::vector<float> x, dst, ws, dX, h0, c0, hT, cT, dH0, dC0;
};

// What a chunk's forward reads and writes (the backward reads these too).
Io forwardIo(Chunk& c) {
  Io io;
  io.x = c.x.data();
  io.h0 = c.h0.data();
  io.c0 = c.c0.data();
  io.dst = c.dst.data();
  io.hT = c.hT.data();
  io.cT = c.cT.data();
  io.ws = c.ws.data();
  return io;
}

// A part's T steps cut into chunks of `step` steps.
struct Grid {
  dim step = 0;
  std::vector<Chunk> chunks;
  void cut(dim T, dim s) {
    if (step == s) return;
    step = s;
    chunks.assign(static_cast<size_t>((T + s - 1) / s), Chunk{});
    for (size_t k = 0; k < chunks.size(); k++) {
      chunks[k].a = static_cast<dim>(k) * s;
      chunks[k].T = std::min(s, T - chunks[k].a);
    }
  }
};

// One batch, or one half of it: its rows, its plan and its buffers.
//
// The plan: chunk k runs the first n[k] of `rows` (the rows whose review has begun by the chunk's end, fewest
// padding steps first), and, while a later chunk still has rows to begin, one more row: the trajectory every
// row follows while it is still in its padding (input: the padding id's embedding; start: the zero state).
// Rows that begin in chunk k start from that row's state at the chunk's start.
struct Part {
  std::vector<dim> rows;    // batch rows, in the order this part runs them
  int slot = 0;             // scratchpad slot
  Grid whole, chunked;      // one chunk of T steps; chunks of the Sequence's chunk size
  Grid* grid = nullptr;     // the plan of the last forward
  size_t last = 0;          // chunks before this one carry the padding row
  std::vector<dim> n;       // rows of the batch each chunk runs
  bool padRow(size_t k) const { return k < last; }
  dim height(size_t k) const { return n[k] + (padRow(k) ? 1 : 0); }
  // Steps × rows the plan runs on grid g.
  dim steps(const Grid& g) const {
    dim w = 0;
    for (size_t k = 0; k < g.chunks.size(); k++) w += height(k) * g.chunks[k].T;
    return w;
  }
  std::vector<float> dW, dR, db, zeros, dDst;
  std::vector<float> feat;  // the pooled outputs of the last forward [rows, O], in this part's row order
  dim ran = 0;              // steps × rows the last forward ran
  // forwardTable's: states h (and c), recurrent products, the GRU's r·h, pooled sums or maxima, each run row's table row
  std::vector<float> th, tc, tz, trh;
  std::vector<double> tacc;
  std::vector<const float*> tx;
};

// ---- Inference with the input projection as a lookup (inputTable, Sequence.forwardTable) ----
//
// For inference the first layer's input projection x_t·W + b depends only on the token id, so it is computed
// once per loaded model for every vocabulary id (inputTable: [V, G·U] per direction, one GEMM) and a step
// reads its row: what is left per step is the recurrent product (one sgemm; two for the GRU) and the gates.
// The gates' sigmoid and tanh are written with GCC's vector extensions (16 floats: one AVX-512 register, two
// AVX2 ones) and built per instruction set (target_clones: x86-64-v4 has AVX-512, v3 AVX2 and FMA), with
// multiply-adds fused where the CPU has them (binding.gyp turns that off for the rest of the file, whose
// passes must equal tfjs's float for float); exp is Cephes' expf polynomial after rounding x·log2(e) to the
// nearest integer. Measured against double precision over [−30, 30]: sigmoid within 8.9e-8, tanh within
// 8.9e-8 and 1.5e-7 of its value (tanhParts); the tests check the outputs (test/kernels/addon.test.ts).
#if defined(__x86_64__)
#define RNN_GATE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#else
#define RNN_GATE_CLONES __attribute__((optimize("fp-contract=fast")))
#endif
#define RNN_ALWAYS_INLINE inline __attribute__((always_inline))

// The helpers below take and return 16-float vectors; they are always inlined into the clones, so no call
// passes one (binding.gyp's -Wno-psabi silences GCC's note that such a call's ABI depends on AVX-512).
namespace gates {
typedef float F16 __attribute__((vector_size(64)));
typedef int32_t I16 __attribute__((vector_size(64)));
constexpr int kWidth = 16;

RNN_ALWAYS_INLINE float bitsToFloat(int32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
RNN_ALWAYS_INLINE F16 bitsToFloat(I16 b) { return reinterpret_cast<F16>(b); }
RNN_ALWAYS_INLINE float absOf(float x) { return std::fabs(x); }
RNN_ALWAYS_INLINE F16 absOf(F16 x) { return reinterpret_cast<F16>(reinterpret_cast<I16>(x) & 0x7fffffff); }

RNN_ALWAYS_INLINE int32_t floatBits(float x) {
  int32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
RNN_ALWAYS_INLINE I16 floatBits(F16 x) { return reinterpret_cast<I16>(x); }

// e^x for x in [ln 2^−126, ln 2^128): n = round(x·log2 e) (adding 1.5·2^23 rounds a float to an integer in its
// low mantissa bits), e^x = 2^n · e^r with |r| ≤ ln(2)/2.
template <class F>
RNN_ALWAYS_INLINE F exp(F x) {
  constexpr float kRound = 12582912.0f;  // 1.5·2^23
  x = x < 88.3762626647949f ? x : 88.3762626647949f;
  x = x > -87.3365447505531f ? x : -87.3365447505531f;
  const F v = x * 1.44269504088896341f + kRound;
  const auto n = floatBits(v) - 0x4B400000;  // the bits of kRound
  const F fn = v - kRound;
  const F r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
  const F y = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r +
               5.0000001201e-1f) * (r * r) + r + 1.0f;
  return y * bitsToFloat((n + 127) << 23);
}
template <class F>
RNN_ALWAYS_INLINE F sigmoid(F x) {
  return 1.0f / (1.0f + exp(-x));
}
// tanh(x) as a numerator n and a denominator d, so a product with another quotient needs one division: for
// |x| < 0.625 Cephes' tanhf polynomial (d = 1), else sign(x)·(1 − e^{−2|x|}) / (1 + e^{−2|x|}) — the quotient
// alone would lose tanh's relative accuracy near 0 (1 − e^{−2|x|} cancels), and the recurrence carries it on.
template <class F>
RNN_ALWAYS_INLINE void tanhParts(F x, F& n, F& d) {
  const F a = absOf(x);
  const F e = exp(-2.0f * a);
  const F z = x * x;
  const F p = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  const auto small = a < 0.625f;
  n = small ? p : (x < 0.0f ? e - 1.0f : 1.0f - e);
  d = small ? F{} + 1.0f : 1.0f + e;
}
template <class F>
RNN_ALWAYS_INLINE F tanh(F x) {
  F n, d;
  tanhParts(x, n, d);
  return n / d;
}
template <class F>
RNN_ALWAYS_INLINE F load(const float* p) {
  F v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class F>
RNN_ALWAYS_INLINE void store(float* p, F v) {
  std::memcpy(p, &v, sizeof v);
}
// BODY(F, j) for the units j in [0, U): 16 at a time (F = F16), then the rest one at a time (F = float).
#define RNN_EACH_UNIT(U, BODY)                              \
  {                                                         \
    dim j = 0;                                              \
    for (; j + kWidth <= (U); j += kWidth) BODY(F16, j);    \
    for (; j < (U); j++) BODY(float, j);                    \
  }

// Row r of the m rows: x = its table row (input projection and bias), z = its recurrent product; h (and c) in place.
RNN_GATE_CLONES void simpleRnnRows(dim m, dim U, const float* const* x, const float* z, float* h) {
  for (dim r = 0; r < m; r++) {
    const float* xr = x[r];
    const float* zr = z + r * U;
    float* hr = h + r * U;
#define RNN_STEP(F, j) store<F>(hr + j, tanh(load<F>(xr + j) + load<F>(zr + j)))
    RNN_EACH_UNIT(U, RNN_STEP)
#undef RNN_STEP
  }
}

// tfjs's LSTM, gates i, f, c̃, o: c = f·c + i·c̃, h = o·tanh(c). With e_a = exp(−a) and tanh b = n_b / d_b,
// i·c̃ = n_c̃ / ((1 + e_i)·d_c̃) and o·tanh(c) likewise: three divisions instead of five (a denominator that
// overflows to infinity gives 0, the limit).
RNN_GATE_CLONES void lstmRows(dim m, dim U, const float* const* x, const float* z, float* h, float* c) {
  for (dim r = 0; r < m; r++) {
    const float* xr = x[r];
    const float* zr = z + r * 4 * U;
    float* hr = h + r * U;
    float* cr = c + r * U;
    if (r + 1 < m)
      for (dim k = 0; k < 4 * U; k += 16) __builtin_prefetch(x[r + 1] + k);
#define RNN_STEP(F, j)                                                              \
  {                                                                                 \
    const F ei = exp(-(load<F>(xr + j) + load<F>(zr + j)));                         \
    const F ef = exp(-(load<F>(xr + U + j) + load<F>(zr + U + j)));                 \
    const F eo = exp(-(load<F>(xr + 3 * U + j) + load<F>(zr + 3 * U + j)));         \
    F n, d;                                                                         \
    tanhParts(load<F>(xr + 2 * U + j) + load<F>(zr + 2 * U + j), n, d);             \
    const F cn = load<F>(cr + j) / (1.0f + ef) + n / ((1.0f + ei) * d);             \
    tanhParts(cn, n, d);                                                            \
    store<F>(cr + j, cn);                                                           \
    store<F>(hr + j, n / ((1.0f + eo) * d));                                        \
  }
    RNN_EACH_UNIT(U, RNN_STEP)
#undef RNN_STEP
  }
}

// tfjs's GRU (reset_after=false), gates z, r, h̃; first half: z and r from the first recurrent product
// (z [m, 3U], its first 2U columns), kept in z; rh = r·h, the second product's input.
RNN_GATE_CLONES void gruGates(dim m, dim U, const float* const* x, float* z, const float* h, float* rh) {
  for (dim r = 0; r < m; r++) {
    const float* xr = x[r];
    float* zr = z + r * 3 * U;
    const float* hr = h + r * U;
    float* rhr = rh + r * U;
#define RNN_STEP(F, j)                                                              \
  {                                                                                 \
    store<F>(zr + j, sigmoid(load<F>(xr + j) + load<F>(zr + j)));                   \
    store<F>(rhr + j, sigmoid(load<F>(xr + U + j) + load<F>(zr + U + j)) * load<F>(hr + j)); \
  }
    RNN_EACH_UNIT(U, RNN_STEP)
#undef RNN_STEP
  }
}

// Second half: h̃ = tanh(x_h + (r·h)·U_h) from z's last U columns; h = z·h + (1 − z)·h̃.
RNN_GATE_CLONES void gruOut(dim m, dim U, const float* const* x, const float* z, float* h) {
  for (dim r = 0; r < m; r++) {
    const float* xr = x[r];
    const float* zr = z + r * 3 * U;
    float* hr = h + r * U;
#define RNN_STEP(F, j)                                                  \
  {                                                                     \
    const F u = load<F>(zr + j);                                        \
    const F hh = tanh(load<F>(xr + 2 * U + j) + load<F>(zr + 2 * U + j)); \
    store<F>(hr + j, u * load<F>(hr + j) + (1.0f - u) * hh);            \
  }
    RNN_EACH_UNIT(U, RNN_STEP)
#undef RNN_STEP
  }
}
#undef RNN_EACH_UNIT
}  // namespace gates

// C [m, n] = A [m, k] · B [k, n], row-major with leading dimensions (oneDNN's sgemm: one thread inside a parallel region).
void matmul(dim m, dim n, dim k, const float* a, dim lda, const float* b, dim ldb, float* c, dim ldc) {
  if (dnnl_sgemm('N', 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc) != dnnl_success) throw std::runtime_error("sgemm failed");
}

// Argument i of a call, a Float32Array of any length (`what` names it in the error).
Napi::Float32Array floats(const Napi::CallbackInfo& info, size_t i, const std::string& what) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), what + " must be a Float32Array");
  return info[i].As<Napi::Float32Array>();
}

class Sequence : public Napi::ObjectWrap<Sequence> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sequence",
                       {InstanceMethod<&Sequence::Forward>("forward"), InstanceMethod<&Sequence::Backward>("backward"),
                        InstanceMethod<&Sequence::ForwardIds>("forwardIds"),
                        InstanceMethod<&Sequence::ForwardTable>("forwardTable"),
                        InstanceMethod<&Sequence::ForwardTableAsync>("forwardTableAsync"),
                        InstanceMethod<&Sequence::BackwardEmbedding>("backwardEmbedding"),
                        InstanceAccessor<&Sequence::Generation>("generation"), InstanceAccessor<&Sequence::Parts>("parts"),
                        InstanceAccessor<&Sequence::Work>("work")});
  }

  Sequence(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sequence>(info), eng_(dnnl::engine::kind::cpu, 0) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsString())
      throw Napi::TypeError::New(env, "Sequence(cell, T, B, D, U[, parts[, chunk[, { bidirectional, pooling }]]])");
    std::string c = info[0].As<Napi::String>();
    if (c == "SimpleRNN") cell_ = Cell::SimpleRNN;
    else if (c == "LSTM") cell_ = Cell::LSTM;
    else if (c == "GRU") cell_ = Cell::GRU;
    else throw Napi::TypeError::New(env, "unknown cell " + c);
    T_ = info[1].As<Napi::Number>().Int64Value();
    B_ = info[2].As<Napi::Number>().Int64Value();
    D_ = info[3].As<Napi::Number>().Int64Value();
    U_ = info[4].As<Napi::Number>().Int64Value();
    if (T_ < 1 || B_ < 1 || D_ < 1 || U_ < 1) throw Napi::RangeError::New(env, "Sequence: every dimension must be >= 1");
    G_ = gatesOf(cell_);
    // parts: 1 or 2. Default: 2 on exactly two threads with at least 4 rows (measured on 2 cores; with more
    // threads one batch on all of them keeps every core busy, which two single-threaded halves would not).
    int parts = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : (omp_get_max_threads() == 2 && B_ >= 4 ? 2 : 1);
    if (parts < 1 || parts > 2 || parts > B_) throw Napi::RangeError::New(env, "Sequence: parts must be 1 or 2, and at most the batch size");
    chunk_ = info.Length() > 6 && info[6].IsNumber() ? info[6].As<Napi::Number>().Int64Value() : kChunk;
    if (chunk_ < 1) throw Napi::RangeError::New(env, "Sequence: chunk must be >= 1");
    if (info.Length() > 7 && info[7].IsObject()) {
      Napi::Object o = info[7].As<Napi::Object>();
      dirs_ = o.Get("bidirectional").ToBoolean() ? 2 : 1;
      Napi::Value pv = o.Get("pooling");
      std::string pool = pv.IsString() ? pv.As<Napi::String>().Utf8Value() : "last";
      if (pool == "last") pool_ = Pool::Last;
      else if (pool == "max") pool_ = Pool::Max;
      else if (pool == "mean") pool_ = Pool::Mean;
      else if (pool == "sequence") pool_ = Pool::Sequence;
      else throw Napi::TypeError::New(env, "Sequence: pooling must be last, max, mean or sequence, not " + pool);
    }
    F_ = dirs_ * U_;
    O_ = pool_ == Pool::Sequence ? T_ * F_ : F_;
    oneThread_ = parts > 1;
    const dim first = (B_ + parts - 1) / parts;
    parts_.resize(parts);
    for (int p = 0; p < parts; p++) {
      parts_[p].slot = p;
      const dim r0 = p * first, rows = std::min(first, B_ - r0);
      for (dim r = 0; r < rows; r++) parts_[p].rows.push_back(r0 + r);
      streams_.emplace_back(eng_);
    }
  }

 private:
  // Steps per chunk when rows begin with padding (see ForwardIds): 16 trained the LSTM as fast as 8 here
  // (fewer, larger calls) and ~2% faster than 32 (less padding run again).
  static constexpr dim kChunk = 16;
  // Rows a chunk runs are rounded up to a multiple of this (fewer shapes to build; the extra rows are still in
  // their padding, so they compute the padding row's trajectory, which is harmless).
  static constexpr dim kRowQuantum = 4;

  Napi::Float32Array arg(const Napi::CallbackInfo& info, size_t i, size_t n, const char* what) {
    auto a = floats(info, i, what);
    if (a.ElementLength() != n)
      throw Napi::RangeError::New(info.Env(), std::string(what) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                                                  std::to_string(n));
    return a;
  }

  // The primitives for T steps of B rows, built on first use (sequential code only).
  Prims& prims(dim T, dim B) {
    auto& p = prims_[{T, B}];
    if (!p) p = std::make_unique<Prims>(cell_, T, B, D_, U_, dirs_, oneThread_, eng_);
    return *p;
  }

  // The primitives for T steps of B rows, which the sequential preparation built (safe inside the parts).
  Prims& built(dim T, dim B) {
    auto it = prims_.find({T, B});
    if (it == prims_.end()) throw std::logic_error("no primitives were prepared for this shape");
    return *it->second;
  }

  // The whole-sequence plan: one chunk of T steps on every row of the part.
  void planWhole(Part& p) {
    p.grid = &p.whole;
    p.whole.cut(T_, T_);
    p.last = 0;
    p.n.assign(1, static_cast<dim>(p.rows.size()));
  }

  // The plan for rows that begin with `pad[row]` padding steps (p.rows sorted by pad, fewest first; see Part).
  // While a row is in its padding its state is the same for every row (same input, same zero start), so
  // that trajectory runs once, as one extra row. Falls back to the whole-sequence plan when that saves under
  // 10% of the steps.
  void plan(Part& p, const std::vector<dim>& pad) {
    const dim Bp = static_cast<dim>(p.rows.size());
    if (chunk_ >= T_ || !sharesPadding()) return planWhole(p);
    p.chunked.cut(T_, chunk_);
    const size_t K = p.chunked.chunks.size();
    p.n.assign(K, 0);
    dim active = 0;
    for (size_t k = 0; k < K; k++) {
      const dim end = p.chunked.chunks[k].a + p.chunked.chunks[k].T;
      while (active < Bp && pad[p.rows[active]] < end) active++;
      p.n[k] = k + 1 == K ? Bp : std::min(Bp, (active + kRowQuantum - 1) / kRowQuantum * kRowQuantum);
    }
    // the padding row runs until the last chunk where rows begin after step 0
    p.last = 0;
    for (size_t k = 1; k < K; k++)
      if (p.n[k] > p.n[k - 1]) p.last = k;
    // Every chunk runs something: before `last` the padding row, from `last` on rows (n grows no more).
    if (static_cast<double>(p.steps(p.chunked)) > 0.9 * static_cast<double>(T_ * Bp)) return planWhole(p);
    p.grid = &p.chunked;
  }

  // Steps × rows the last forward ran, as a share of T × B.
  double work() const {
    double w = 0;
    for (const Part& p : parts_) w += static_cast<double>(p.ran);
    return w / static_cast<double>(T_ * B_);
  }

  // Builds and converts everything the parts' plans run (sequential), then runs each part (side by side).
  // row(b, t) → the D input floats of batch row b at step t; padRow: the input of a padding step.
  template <class Row>
  void computeForward(Row row, const float* padRow, const float* W, const float* R, const float* b, bool training) {
    version_++;
    for (size_t i = 0; i < parts_.size(); i++) {
      Part& p = parts_[i];
      for (size_t k = 0; k < p.grid->chunks.size(); k++) prims(p.grid->chunks[k].T, p.height(k)).prepare(training, version_, W, R, converted_, streams_[i]);
    }
    bias_.assign(b, b + dirs_ * G_ * U_);
    eachPart([&](Part& p, dnnl::stream& s) {
      forwardPart(p, s, row, padRow, training);
      pool(p);
      p.ran = p.steps(*p.grid);
    });
    pending_ = training;
    if (training) generation_++;
  }

  // The last forward's pooled outputs [B*O], in batch order.
  Napi::Float32Array features(Napi::Env env) const {
    auto h = Napi::Float32Array::New(env, B_ * O_);
    for (const Part& p : parts_)
      for (size_t r = 0; r < p.rows.size(); r++) std::memcpy(h.Data() + p.rows[r] * O_, p.feat.data() + r * O_, O_ * sizeof(float));
    return h;
  }

  // Runs compute() (a computeForward) and returns its features, a oneDNN failure as a JavaScript error.
  template <class Compute>
  Napi::Float32Array runForward(Napi::Env env, Compute compute) {
    try {
      compute();
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
    return features(env);
  }

  // forwardTable's arguments: the table of `rows` ids' input projections and the recurrent kernel.
  struct TableArgs {
    Napi::Float32Array table, R;
    dim rows;
  };

  // A forwardTable on libuv's thread pool (forwardTableAsync): the event loop goes on meanwhile. It keeps the
  // sequence and the arrays it reads alive until it settles; the sequence refuses other work until then.
  class ForwardWorker : public Napi::AsyncWorker {
   public:
    ForwardWorker(Napi::Env env, Sequence* s, Napi::Object self, const TableArgs& a)
        : Napi::AsyncWorker(env, "rnn:forwardTableAsync"),
          s_(s),
          deferred_(Napi::Promise::Deferred::New(env)),
          table_(a.table.Data()),
          r_(a.R.Data()),
          rows_(a.rows) {
      for (const Napi::Object& o : {self, Napi::Object(a.table), Napi::Object(a.R)}) keep_.push_back(Napi::Persistent(o));
    }
    Napi::Promise promise() const { return deferred_.Promise(); }
    void Execute() override {
      try {
        s_->computeTableForward(table_, rows_, r_);
      } catch (const std::exception& e) {
        SetError(std::string("oneDNN: ") + e.what());
      }
    }
    void OnOK() override {
      s_->busy_ = false;
      deferred_.Resolve(s_->features(Env()));
    }
    void OnError(const Napi::Error& e) override {
      s_->busy_ = false;
      deferred_.Reject(e.Value());
    }

   private:
    Sequence* s_;
    Napi::Promise::Deferred deferred_;
    std::vector<Napi::ObjectReference> keep_;
    const float *table_, *r_;
    dim rows_;
  };

  // Whether rows share their leading padding steps; see plan(). Not in two directions: the backward one ends
  // in the padding. Not under max pooling: its gradient goes to every step equal to the maximum (tfjs's rule),
  // and over a long padding run the state reaches a fixed point where hundreds of steps tie; a row that
  // begins inside a chunk computes its own copy of that chunk's padding steps, which can differ from the
  // shared trajectory in the last bit, so the ties, and with them the gradient, would not be the whole run's
  // (measured on a real first batch: the bias gradient 5x smaller).
  bool sharesPadding() const { return dirs_ == 1 && pool_ != Pool::Max; }

  // The outputs [F] of the part's row r (its place in p.rows) at step t of chunk k: its own once it has begun
  // (r < n[k]), else the padding row's, which every row follows until it begins.
  const float* outputAt(const Part& p, size_t k, dim t, dim r) const {
    const Chunk& c = p.grid->chunks[k];
    return c.dst.data() + (t * p.height(k) + std::min(r, p.n[k])) * F_;
  }

  // The pooled outputs of a part's last forward, into p.feat [rows, O] (the part's row order).
  void pool(Part& p) {
    const dim n = static_cast<dim>(p.rows.size());
    fit(p.feat, static_cast<size_t>(n * O_));
    float* out = p.feat.data();
    if (pool_ == Pool::Sequence) {  // every step's outputs [T, F] per row (a row not yet begun: the padding row's)
      for (dim r = 0; r < n; r++)
        for (size_t k = 0; k < p.grid->chunks.size(); k++) {
          const Chunk& c = p.grid->chunks[k];
          for (dim t = 0; t < c.T; t++) std::memcpy(out + (r * T_ + c.a + t) * F_, outputAt(p, k, t, r), F_ * sizeof(float));
        }
      return;
    }
    if (pool_ == Pool::Last && sharesPadding()) {  // the last chunk's h_T (its first n rows: no padding row runs there)
      std::memcpy(out, p.grid->chunks.back().hT.data(), n * U_ * sizeof(float));
      return;
    }
    if (pool_ == Pool::Last) {  // bidirectional, the whole sequence [T, n, F]: forward h_{T-1}, backward h_0
      const float* dst = p.grid->chunks[0].dst.data();
      for (dim r = 0; r < n; r++) {
        std::memcpy(out + r * F_, dst + ((T_ - 1) * n + r) * F_, U_ * sizeof(float));
        std::memcpy(out + r * F_ + U_, dst + r * F_ + U_, U_ * sizeof(float));
      }
      return;
    }
    // max or mean over every step, chunk by chunk (a row not yet begun reads the padding row's outputs)
    const size_t K = p.grid->chunks.size();
    std::vector<double> sum(static_cast<size_t>(F_));
    for (dim r = 0; r < n; r++) {
      float* f = out + r * F_;
      if (pool_ == Pool::Max) std::fill(f, f + F_, -std::numeric_limits<float>::infinity());
      else std::fill(sum.begin(), sum.end(), 0.0);
      for (size_t k = 0; k < K; k++)
        for (dim t = 0; t < p.grid->chunks[k].T; t++) {
          const float* x = outputAt(p, k, t, r);
          if (pool_ == Pool::Max)
            for (dim j = 0; j < F_; j++) f[j] = std::max(f[j], x[j]);
          else
            for (dim j = 0; j < F_; j++) sum[j] += x[j];
        }
      if (pool_ == Pool::Mean)
        for (dim j = 0; j < F_; j++) f[j] = static_cast<float>(sum[j] / static_cast<double>(T_));
    }
  }

  // dL/d(outputs) [c.T, height, F] of chunk k of a max-, mean- or sequence-pooled part from dL/d(pooled) dy (the
  // batch's [B, O]), into p.dDst: each row's share at its own steps, and, for the rows that have not begun, at the
  // padding row's steps (summed there). The share of `max` goes to every step equal to the maximum (tfjs's
  // max gradient); of `mean`, 1/T to every step; `sequence` has each step's own.
  void poolGrad(Part& p, size_t k, const float* dy) {
    const Chunk& c = p.grid->chunks[k];
    const dim n = static_cast<dim>(p.rows.size()), h = p.height(k);
    float* d = p.dDst.data();
    std::memset(d, 0, c.T * h * F_ * sizeof(float));
    const float T = static_cast<float>(T_);
    for (dim r = 0; r < n; r++) {
      const float* g = dy + p.rows[r] * O_;
      const float* f = p.feat.data() + r * O_;
      const dim row = std::min(r, p.n[k]);
      for (dim t = 0; t < c.T; t++) {
        const float* x = c.dst.data() + (t * h + row) * F_;
        float* dx = d + (t * h + row) * F_;
        if (pool_ == Pool::Sequence) {
          const float* gt = g + (c.a + t) * F_;
          for (dim j = 0; j < F_; j++) dx[j] += gt[j];
        } else if (pool_ == Pool::Max) {
          for (dim j = 0; j < F_; j++)
            if (x[j] == f[j]) dx[j] += g[j];
        } else {
          for (dim j = 0; j < F_; j++) dx[j] += g[j] / T;
        }
      }
    }
  }

  // dL/d(output sequence) [T, n, F] of a bidirectional last-state part (the whole sequence) from dy, into p.dDst:
  // the forward direction's last step and the backward direction's first.
  void lastStateGrad(Part& p, const float* dy) {
    const dim n = static_cast<dim>(p.rows.size());
    float* d = p.dDst.data();
    std::memset(d, 0, T_ * n * F_ * sizeof(float));
    for (dim r = 0; r < n; r++) {
      const float* g = dy + p.rows[r] * F_;
      std::memcpy(d + ((T_ - 1) * n + r) * F_, g, U_ * sizeof(float));
      std::memcpy(d + r * F_ + U_, g + U_, U_ * sizeof(float));
    }
  }

  template <class Row>
  void forwardPart(Part& p, dnnl::stream& s, Row row, const float* padRow, bool training) {
    Grid& g = *p.grid;
    const size_t K = g.chunks.size();
    const bool lstm = cell_ == Cell::LSTM;
    fit(p.zeros, static_cast<size_t>((p.rows.size() + 1) * F_));
    for (size_t k = 0; k < K; k++) {
      Chunk& c = g.chunks[k];
      const dim n = p.n[k], h = p.height(k), m = k == 0 ? 0 : p.n[k - 1];
      fit(c.x, c.T * h * D_);
      fit(c.dst, c.T * h * F_);
      fit(c.h0, dirs_ * h * U_);
      fit(c.hT, dirs_ * h * U_);
      if (lstm) {
        fit(c.c0, dirs_ * h * U_);
        fit(c.cT, dirs_ * h * U_);
      }
      for (dim t = 0; t < c.T; t++) {
        for (dim r = 0; r < n; r++) std::memcpy(c.x.data() + (t * h + r) * D_, row(p.rows[r], c.a + t), D_ * sizeof(float));
        if (h > n) std::memcpy(c.x.data() + (t * h + n) * D_, padRow, D_ * sizeof(float));
      }
      // rows carried on from the chunk before; then the rows that begin here, and the padding row, from the
      // padding row's state (the chunk before's row m; zero at the start)
      const float* sh = k == 0 ? p.zeros.data() : g.chunks[k - 1].hT.data() + m * U_;
      const float* sc = k == 0 ? p.zeros.data() : g.chunks[k - 1].cT.data() + m * U_;
      if (m > 0) std::memcpy(c.h0.data(), g.chunks[k - 1].hT.data(), m * U_ * sizeof(float));
      if (lstm && m > 0) std::memcpy(c.c0.data(), g.chunks[k - 1].cT.data(), m * U_ * sizeof(float));
      if (dirs_ == 2) {  // whole sequence, both directions from zero
        std::memset(c.h0.data(), 0, dirs_ * h * U_ * sizeof(float));
        if (lstm) std::memset(c.c0.data(), 0, dirs_ * h * U_ * sizeof(float));
      }
      for (dim r = m; r < h && dirs_ == 1; r++) {
        std::memcpy(c.h0.data() + r * U_, sh, U_ * sizeof(float));
        if (lstm) std::memcpy(c.c0.data() + r * U_, sc, U_ * sizeof(float));
      }
      Prims& pr = built(c.T, h);
      if (training) fit(c.ws, pr.workspaceFloats());
      Io io = forwardIo(c);
      pr.forward(training, io, bias_.data(), s, p.slot);
    }
  }

  // The backward of one part's last training forward for dy (the whole batch's [B, U]); the weight gradients
  // go to p.dW, p.dR, p.db (tfjs layout).
  void backwardPart(Part& p, dnnl::stream& s, const float* dy) {
    Grid& g = *p.grid;
    const size_t K = g.chunks.size();
    const bool lstm = cell_ == Cell::LSTM;
    p.dW.assign(dirs_ * D_ * G_ * U_, 0.0f);
    p.dR.assign(dirs_ * U_ * G_ * U_, 0.0f);
    p.db.assign(dirs_ * G_ * U_, 0.0f);
    for (size_t k = K; k-- > 0;) {
      Chunk& c = g.chunks[k];
      const dim n = p.n[k], h = p.height(k);
      fit(c.dX, c.T * h * D_);
      fit(c.dH0, dirs_ * h * U_);
      if (lstm) fit(c.dC0, dirs_ * h * U_);
      fit(p.dDst, c.T * h * F_);
      float* lastStep = p.dDst.data() + (c.T - 1) * h * U_;  // the last state: the gradient reaches the last output only
      const float *dHT = p.zeros.data(), *dCT = p.zeros.data();
      if (pool_ != Pool::Last) {
        poolGrad(p, k, dy);  // every chunk's outputs are pooled
      } else if (k + 1 == K && !sharesPadding()) {
        lastStateGrad(p, dy);
      } else if (k + 1 == K) {
        for (dim r = 0; r < n; r++) std::memcpy(lastStep + r * U_, dy + p.rows[r] * U_, U_ * sizeof(float));
      }
      if (k + 1 < K) {
        // The state gradient of the chunk after, for this chunk's rows: its first n rows (carried on) as they
        // are; for the padding row (row n), the sum over the rows that began there and its padding row. The
        // sum is written over the chunk after's row n, so its first h rows are this chunk's gradient.
        Chunk& next = g.chunks[k + 1];
        if (h > n) {
          sumRowsInto(next.dH0.data(), n, p.height(k + 1));
          if (lstm) sumRowsInto(next.dC0.data(), n, p.height(k + 1));
        }
        dHT = next.dH0.data();
        dCT = next.dC0.data();
      }
      Io io = forwardIo(c);
      io.dDst = p.dDst.data();
      io.dHT = dHT;
      io.dCT = dCT;
      io.dX = c.dX.data();
      io.dH0 = c.dH0.data();
      io.dC0 = c.dC0.data();
      built(c.T, h).backward(io, bias_.data(), p.dW.data(), p.dR.data(), p.db.data(), s, p.slot);
      if (pool_ == Pool::Last && k + 1 == K && sharesPadding()) std::memset(lastStep, 0, n * U_ * sizeof(float));
    }
  }

  // Adds rows (to, end) of the [rows, U] matrix d into its row `to`.
  void sumRowsInto(float* d, dim to, dim end) const {
    for (dim r = to + 1; r < end; r++)
      for (dim u = 0; u < U_; u++) d[to * U_ + u] += d[r * U_ + u];
  }

  // Runs f(part, its stream) for every part, side by side on one thread each when there are two; the first
  // exception wins.
  template <class F>
  void eachPart(F f) {
    const int n = static_cast<int>(parts_.size());
    if (n == 1) {  // no OpenMP region around it: the primitives run on all threads
      f(parts_[0], streams_[0]);
      return;
    }
    std::string error;
#pragma omp parallel for num_threads(n) schedule(static, 1)
    for (int i = 0; i < n; i++) {
      try {
        f(parts_[i], streams_[i]);
      } catch (const std::exception& e) {
#pragma omp critical
        if (error.empty()) error = e.what();
      }
    }
    if (!error.empty()) throw std::runtime_error(error);
  }

  // forward(x [B*T*D], W [dirs*D*G*U], R [dirs*U*G*U], b [dirs*G*U], training) → the pooled outputs [B*F] (F = dirs*U)
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    refuseWhileBusy(info.Env());
    auto x = arg(info, 0, B_ * T_ * D_, "x");
    auto W = arg(info, 1, dirs_ * D_ * G_ * U_, "kernel");
    auto R = arg(info, 2, dirs_ * U_ * G_ * U_, "recurrentKernel");
    auto b = arg(info, 3, dirs_ * G_ * U_, "bias");
    bool training = info.Length() > 4 && info[4].ToBoolean();
    const float* xs = x.Data();
    const dim first = (B_ + static_cast<dim>(parts_.size()) - 1) / static_cast<dim>(parts_.size());
    for (size_t i = 0; i < parts_.size(); i++) {
      Part& p = parts_[i];
      for (size_t r = 0; r < p.rows.size(); r++) p.rows[r] = static_cast<dim>(i) * first + static_cast<dim>(r);
      planWhole(p);
    }
    idsValid_ = false;
    return runForward(info.Env(), [&] {
      computeForward([&](dim row, dim t) { return xs + (row * T_ + t) * D_; }, nullptr, W.Data(), R.Data(), b.Data(), training);
    });
  }

  struct IdsArgs {
    Napi::Float32Array E, W, R, b;
  };

  // The ids [B*T] of a forwardIds or forwardTable (argument 0), checked for type and length.
  Napi::Int32Array idsArg(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, "ids must be an Int32Array");
    auto ids = info[0].As<Napi::Int32Array>();
    if (ids.ElementLength() != static_cast<size_t>(B_ * T_))
      throw Napi::RangeError::New(env, "ids has " + std::to_string(ids.ElementLength()) + " elements, expected " + std::to_string(B_ * T_));
    return ids;
  }

  // Checks that every id is a row of a table of V rows (`what`), keeps the ids (ids_) and each row's leading
  // padding (pad_), and deals the rows, sorted by their padding (fewest first), to the parts in turn, so both
  // get the same mix.
  void keepIds(Napi::Env env, const Napi::Int32Array& ids, int64_t V, const char* what) {
    const int32_t* id = ids.Data();
    for (dim i = 0; i < B_ * T_; i++)
      if (id[i] < 0 || id[i] >= V)
        throw Napi::RangeError::New(env, "token id " + std::to_string(id[i]) + " is outside the " + what + " (size " + std::to_string(V) + ")");
    ids_.assign(id, id + B_ * T_);
    idsValid_ = true;
    pad_.assign(B_, 0);
    std::vector<dim> order(B_);
    for (dim r = 0; r < B_; r++) {
      while (pad_[r] < T_ && id[r * T_ + pad_[r]] == 0) pad_[r]++;
      order[r] = r;
    }
    std::stable_sort(order.begin(), order.end(), [&](dim a, dim b) { return pad_[a] < pad_[b]; });
    for (size_t i = 0; i < parts_.size(); i++) {
      Part& p = parts_[i];
      for (size_t r = 0; r < p.rows.size(); r++) p.rows[r] = order[r * parts_.size() + i];
    }
  }

  // Checks forwardIds' arguments, keeps the ids and plans the parts' rows around their padding.
  IdsArgs prepareIds(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    refuseWhileBusy(env);
    auto ids = idsArg(info);
    auto E = floats(info, 1, "embeddings");
    if (E.ElementLength() % D_ != 0) throw Napi::RangeError::New(env, "embeddings is not a multiple of the input dimension");
    const int64_t V = static_cast<int64_t>(E.ElementLength() / D_);
    if (V < 1) throw Napi::RangeError::New(env, "embeddings is empty");
    auto W = arg(info, 2, dirs_ * D_ * G_ * U_, "kernel");
    auto R = arg(info, 3, dirs_ * U_ * G_ * U_, "recurrentKernel");
    auto b = arg(info, 4, dirs_ * G_ * U_, "bias");
    keepIds(env, ids, V, "embedding");
    for (Part& p : parts_) plan(p, pad_);
    return {E, W, R, b};
  }

  // Checks forwardTable's arguments (ids, an inputTable [dirs*V*G*U], the recurrent kernel) and keeps the ids.
  TableArgs prepareTable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    refuseWhileBusy(env);
    if (pool_ == Pool::Sequence) throw Napi::Error::New(env, "forwardTable pools its outputs; a sequence-pooled Sequence runs forwardIds");
    auto ids = idsArg(info);
    auto table = floats(info, 1, "table (an inputTable)");
    const size_t row = static_cast<size_t>(dirs_ * G_ * U_);
    if (table.ElementLength() == 0 || table.ElementLength() % row != 0)
      throw Napi::RangeError::New(env, "table has " + std::to_string(table.ElementLength()) + " elements, not a positive multiple of " + std::to_string(row) +
                                           " (directions × gates × units)");
    auto R = arg(info, 2, dirs_ * U_ * G_ * U_, "recurrentKernel");
    const dim rows = static_cast<dim>(table.ElementLength() / row);
    keepIds(env, ids, rows, "table");
    return {table, R, rows};
  }

  // Copies row `from`'s state (h, c, pooled so far) of a table run into row `to`.
  void copyTableRow(Part& p, dim from, dim to) const {
    std::memcpy(p.th.data() + to * U_, p.th.data() + from * U_, U_ * sizeof(float));
    if (cell_ == Cell::LSTM) std::memcpy(p.tc.data() + to * U_, p.tc.data() + from * U_, U_ * sizeof(float));
    if (pool_ != Pool::Last) std::memcpy(p.tacc.data() + to * U_, p.tacc.data() + from * U_, U_ * sizeof(double));
  }

  // Direction d of a part over the kept ids, input projections read from `table`; writes the direction's
  // features into p.feat. Run row k is the part's row n−1−k (p.rows has the fewest padding steps first), so the
  // rows that have begun are always the last ones. Left to right, rows share their padding steps exactly: one
  // run row, just before the begun ones, carries the padding trajectory, and a row that begins at step t takes
  // its state (and what has been pooled of it) there. Right to left every row runs every step.
  void tableDirection(Part& p, dim d, const float* table, dim rows, const float* R) {
    const dim n = static_cast<dim>(p.rows.size()), GU = G_ * U_;
    const float* tab = table + d * rows * GU;
    const float* Rd = R + d * U_ * GU;
    fit(p.th, n * U_);
    std::fill(p.th.begin(), p.th.begin() + n * U_, 0.0f);
    if (cell_ == Cell::LSTM) {
      fit(p.tc, n * U_);
      std::fill(p.tc.begin(), p.tc.begin() + n * U_, 0.0f);
    }
    fit(p.tz, n * GU);
    if (cell_ == Cell::GRU) fit(p.trh, n * U_);
    if (pool_ != Pool::Last) p.tacc.assign(n * U_, pool_ == Pool::Max ? -std::numeric_limits<double>::infinity() : 0.0);
    p.tx.resize(n);
    dim begun = d == 0 ? 0 : n;
    for (dim s = 0; s < T_; s++) {
      const dim t = d == 0 ? s : T_ - 1 - s;
      dim now = begun;
      while (now < n && pad_[p.rows[now]] <= t) now++;
      // the rows that begin here, and the trajectory's next place, take the trajectory's state (row n−1−begun)
      for (dim k = std::max<dim>(n - 1 - now, 0); k < n - 1 - begun; k++) copyTableRow(p, n - 1 - begun, k);
      begun = now;
      const dim lo = begun < n ? n - 1 - begun : 0, m = n - lo;
      for (dim k = lo; k < n; k++) p.tx[k - lo] = tab + static_cast<int64_t>(ids_[p.rows[n - 1 - k] * T_ + t]) * GU;  // the trajectory's id is 0
      float* h = p.th.data() + lo * U_;
      float* z = p.tz.data() + lo * GU;
      switch (cell_) {
        case Cell::SimpleRNN:
          matmul(m, U_, U_, h, U_, Rd, GU, z, GU);
          gates::simpleRnnRows(m, U_, p.tx.data(), z, h);
          break;
        case Cell::LSTM:
          matmul(m, GU, U_, h, U_, Rd, GU, z, GU);
          gates::lstmRows(m, U_, p.tx.data(), z, h, p.tc.data() + lo * U_);
          break;
        case Cell::GRU: {
          float* rh = p.trh.data() + lo * U_;
          matmul(m, 2 * U_, U_, h, U_, Rd, GU, z, GU);
          gates::gruGates(m, U_, p.tx.data(), z, h, rh);
          matmul(m, U_, U_, rh, U_, Rd + 2 * U_, GU, z + 2 * U_, GU);
          gates::gruOut(m, U_, p.tx.data(), z, h);
          break;
        }
      }
      if (pool_ == Pool::Max)
        for (dim i = lo * U_; i < n * U_; i++) p.tacc[i] = std::max(p.tacc[i], static_cast<double>(p.th[i]));
      else if (pool_ == Pool::Mean)
        for (dim i = lo * U_; i < n * U_; i++) p.tacc[i] += p.th[i];
      p.ran += m;
    }
    // rows that never begin (nothing but padding) end where the trajectory does
    for (dim k = 0; k < n - 1 - begun; k++) copyTableRow(p, n - 1 - begun, k);
    for (dim k = 0; k < n; k++) {
      float* f = p.feat.data() + (n - 1 - k) * F_ + d * U_;
      if (pool_ == Pool::Last) std::memcpy(f, p.th.data() + k * U_, U_ * sizeof(float));
      else
        for (dim j = 0; j < U_; j++) f[j] = static_cast<float>(pool_ == Pool::Max ? p.tacc[k * U_ + j] : p.tacc[k * U_ + j] / static_cast<double>(T_));
    }
  }

  // The inference forward over the ids prepareTable kept (see tableDirection), each part on one thread.
  void computeTableForward(const float* table, dim rows, const float* R) {
    pending_ = false;  // no backward after it: it keeps no activations
    eachPart([&](Part& p, dnnl::stream&) {
      fit(p.feat, p.rows.size() * F_);
      p.ran = 0;
      for (dim d = 0; d < dirs_; d++) tableDirection(p, d, table, rows, R);
      p.ran /= dirs_;
    });
  }

  // The forward over the ids prepareIds kept, rows of the embeddings e [V*D].
  void computeIdsForward(const float* e, const float* W, const float* R, const float* b, bool training) {
    const int32_t* id = ids_.data();
    computeForward([&](dim row, dim t) { return e + static_cast<int64_t>(id[row * T_ + t]) * D_; }, e, W, R, b, training);
  }

  void refuseWhileBusy(Napi::Env env) const {
    if (busy_) throw Napi::Error::New(env, "this sequence is running a forwardTableAsync; wait for its promise");
  }

  // forwardIds(ids [B*T] int32, embeddings [V*D], W, R, b, training) → the pooled outputs [B*F]: the embedding lookup is
  // done here, straight into the time-major input (the ids are kept for backwardEmbedding). Rows that begin
  // with id 0 (Keras's 'pre' padding) share their state until their review begins, and only run from there.
  Napi::Value ForwardIds(const Napi::CallbackInfo& info) {
    IdsArgs a = prepareIds(info);
    bool training = info.Length() > 5 && info[5].ToBoolean();
    return runForward(info.Env(), [&] { computeIdsForward(a.E.Data(), a.W.Data(), a.R.Data(), a.b.Data(), training); });
  }

  // forwardTable(ids [B*T] int32, table [dirs*V*G*U] (inputTable), R) → forwardIds' inference outputs [B*F], the
  // input projections read from the table.
  Napi::Value ForwardTable(const Napi::CallbackInfo& info) {
    TableArgs a = prepareTable(info);
    return runForward(info.Env(), [&] { computeTableForward(a.table.Data(), a.rows, a.R.Data()); });
  }

  // forwardTableAsync(ids, table, R) → a promise of forwardTable's outputs, computed on libuv's thread pool (see
  // ForwardWorker).
  Napi::Value ForwardTableAsync(const Napi::CallbackInfo& info) {
    TableArgs a = prepareTable(info);
    auto* worker = new ForwardWorker(info.Env(), this, info.This().As<Napi::Object>(), a);
    busy_ = true;
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  // Runs the backward for dy = dL/dh_T; returns [dW, dR, db] summed over the parts.
  Napi::Array runBackward(const Napi::CallbackInfo& info) {
    refuseWhileBusy(info.Env());
    Napi::Env env = info.Env();
    auto dy = arg(info, 0, B_ * O_, "dy");
    double gen = info.Length() > 1 ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!pending_ || gen != static_cast<double>(generation_))
      throw Napi::Error::New(env, "backward needs the saved activations of its own training forward, which a later forward replaced");
    auto dW = Napi::Float32Array::New(env, dirs_ * D_ * G_ * U_);
    auto dR = Napi::Float32Array::New(env, dirs_ * U_ * G_ * U_);
    auto db = Napi::Float32Array::New(env, dirs_ * G_ * U_);
    try {
      const float* dys = dy.Data();
      eachPart([&](Part& p, dnnl::stream& s) { backwardPart(p, s, dys); });
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
    for (const Part& p : parts_) {
      for (size_t i = 0; i < p.dW.size(); i++) dW.Data()[i] += p.dW[i];
      for (size_t i = 0; i < p.dR.size(); i++) dR.Data()[i] += p.dR[i];
      for (size_t i = 0; i < p.db.size(); i++) db.Data()[i] += p.db[i];
    }
    pending_ = false;
    auto out = Napi::Array::New(env, 3);
    out.Set(0u, dW);
    out.Set(1u, dR);
    out.Set(2u, db);
    return out;
  }

  // each(row, t, grad): the input gradient of batch row `row` at step t, for every step a row ran; row -1 is
  // the padding row
  template <class Each>
  void eachInputGrad(Each each) {
    for (const Part& p : parts_) {
      const Grid& g = *p.grid;
      for (size_t k = 0; k < g.chunks.size(); k++) {
        const Chunk& c = g.chunks[k];
        const dim n = p.n[k], h = p.height(k);
        for (dim t = 0; t < c.T; t++)
          for (dim r = 0; r < h; r++) each(r < n ? p.rows[r] : -1, c.a + t, c.dX.data() + (t * h + r) * D_);
      }
    }
  }

  // backward(dy [B*F], generation) → [dx [B*T*D], dW, dR, db] (the directions one after the other) for the last training forward
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (idsValid_) throw Napi::Error::New(env, "backward needs a forward (after forwardIds, use backwardEmbedding)");
    Napi::Array grads = runBackward(info);
    auto dx = Napi::Float32Array::New(env, B_ * T_ * D_);
    float* o = dx.Data();
    eachInputGrad([&](dim row, dim t, const float* g) { std::memcpy(o + (row * T_ + t) * D_, g, D_ * sizeof(float)); });
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, dx);
    for (uint32_t i = 0; i < 3; i++) out.Set(i + 1, grads.Get(i));
    return out;
  }

  // backwardEmbedding(dy, generation, dEmbeddings [V*D]) → [dW, dR, db] after a forwardIds; the embedding
  // gradient is written into dEmbeddings (zeroed, then the input gradient of every step scatter-added to its
  // token's row: the dense gradient tfjs's gather computes, without materializing the [B, T, D] one; the
  // padding row's steps add to row 0).
  Napi::Value BackwardEmbedding(const Napi::CallbackInfo& info) {
    refuseWhileBusy(info.Env());
    Napi::Env env = info.Env();
    if (!idsValid_) throw Napi::Error::New(env, "backwardEmbedding needs a forwardIds");
    if (info.Length() < 3 || !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, "dEmbeddings must be a Float32Array");
    auto dE = info[2].As<Napi::Float32Array>();
    Napi::Array grads = runBackward(info);
    const int64_t V = static_cast<int64_t>(dE.ElementLength() / D_);
    float* g = dE.Data();
    std::memset(g, 0, dE.ElementLength() * sizeof(float));
    eachInputGrad([&](dim row, dim t, const float* src) {
      const int32_t id = row < 0 ? 0 : ids_[row * T_ + t];
      if (id >= V) return;
      float* dst = g + static_cast<int64_t>(id) * D_;
      for (dim d = 0; d < D_; d++) dst[d] += src[d];
    });
    return grads;
  }

  Napi::Value Generation(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(generation_)); }
  Napi::Value Parts(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(parts_.size())); }
  Napi::Value Work(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), work()); }

  dnnl::engine eng_;
  std::vector<dnnl::stream> streams_;
  Cell cell_ = Cell::SimpleRNN;
  dim T_ = 0, B_ = 0, D_ = 0, U_ = 0, G_ = 1, chunk_ = kChunk;
  dim dirs_ = 1, F_ = 0;  // directions; features per row and step (dirs_ · U_)
  dim O_ = 0;            // outputs per row: F_, or T_ · F_ under `sequence` pooling
  Pool pool_ = Pool::Last;
  bool oneThread_ = false;
  std::vector<Part> parts_;
  std::map<std::pair<dim, dim>, std::unique_ptr<Prims>> prims_;
  Converted converted_;
  std::vector<float> bias_;
  bool pending_ = false, idsValid_ = false;
  uint64_t generation_ = 0, version_ = 0;
  std::vector<int32_t> ids_;
  std::vector<dim> pad_;  // leading padding steps of each row of ids_
  // a forwardTableAsync is running: its buffers are in use
  bool busy_ = false;
};

// adam(param, grad, m, v, lr, beta1, beta2, epsilon, oneMinusAccBeta1, oneMinusAccBeta2): one in-place pass
// of tfjs's AdamOptimizer update over a parameter tensor, in float32 like tfjs's ops:
//   m ← m·β1 + g·(1−β1);  v ← v·β2 + g²·(1−β2);  p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
// The pass itself, vectorized (binding.gyp's -fno-math-errno lets the square root vectorize), with an AVX2
// clone on x86-64 CPUs that have it: the same IEEE operations in the same order, so identical results
// (binding.gyp's -ffp-contract=off keeps the compiler from fusing them into FMAs).
#if defined(__x86_64__)
#define RNN_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define RNN_SIMD_CLONES
#endif
RNN_SIMD_CLONES void adamPass(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2, float eps, float c1, float c2,
                              float ob1, float ob2) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * ob1;
    const float vi = v[i] * b2 + (gi * gi) * ob2;
    m[i] = mi;
    v[i] = vi;
    p[i] = (mi / c1) / (std::sqrt(vi / c2) + eps) * -lr + p[i];
  }
}

Napi::Value Adam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array a[4];
  for (size_t i = 0; i < 4; i++) {
    if (info.Length() < 10 || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, "adam(param, grad, m, v: Float32Array, lr, beta1, beta2, epsilon, oneMinusAccBeta1, oneMinusAccBeta2)");
    a[i] = info[i].As<Napi::Float32Array>();
    if (a[i].ElementLength() != a[0].ElementLength()) throw Napi::RangeError::New(env, "adam: the four arrays differ in length");
  }
  const float lr = info[4].As<Napi::Number>().FloatValue(), b1 = info[5].As<Napi::Number>().FloatValue(),
              b2 = info[6].As<Napi::Number>().FloatValue(), eps = info[7].As<Napi::Number>().FloatValue(),
              c1 = info[8].As<Napi::Number>().FloatValue(), c2 = info[9].As<Napi::Number>().FloatValue();
  const float ob1 = static_cast<float>(1.0 - info[5].As<Napi::Number>().DoubleValue());
  const float ob2 = static_cast<float>(1.0 - info[6].As<Napi::Number>().DoubleValue());
  adamPass(a[0].Data(), a[1].Data(), a[2].Data(), a[3].Data(), static_cast<int64_t>(a[0].ElementLength()), lr, b1, b2, eps, c1, c2, ob1, ob2);
  return env.Undefined();
}

// movingAverage(average, value, decay): average ← decay·average + (1 − decay)·value, one in-place pass (the
// weight average of src/train/ema.ts). In double precision rounded to float32 per element, as the
// JavaScript loop there computes it, so either gives the same bits.
RNN_SIMD_CLONES void averagePass(float* a, const float* w, int64_t n, double d, double k) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) a[i] = static_cast<float>(d * static_cast<double>(a[i]) + k * static_cast<double>(w[i]));
}

Napi::Value MovingAverage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array a[2];
  for (size_t i = 0; i < 2; i++) {
    if (info.Length() < 3 || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[2].IsNumber())
      throw Napi::TypeError::New(env, "movingAverage(average, value: Float32Array, decay: number)");
    a[i] = info[i].As<Napi::Float32Array>();
  }
  if (a[0].ElementLength() != a[1].ElementLength()) throw Napi::RangeError::New(env, "movingAverage: the two arrays differ in length");
  const double d = info[2].As<Napi::Number>().DoubleValue();
  averagePass(a[0].Data(), a[1].Data(), static_cast<int64_t>(a[0].ElementLength()), d, 1 - d);
  return env.Undefined();
}

// clipByGlobalNorm(grads: Float32Array[], clipNorm): Keras's global_clipnorm over a training step's gradients.
// The joint L2 norm of all of them (squares summed in double precision); when it exceeds clipNorm, every
// gradient is scaled in place by the float32 factor clipNorm / norm. Returns the norm before clipping.
RNN_SIMD_CLONES double sumOfSquares(const float* g, int64_t n) {
  double s = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : s) if (n > 65536)
  for (int64_t i = 0; i < n; i++) s += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  return s;
}

RNN_SIMD_CLONES void scalePass(float* g, int64_t n, float f) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) g[i] *= f;
}

Napi::Value ClipByGlobalNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "clipByGlobalNorm(grads: Float32Array[], clipNorm: positive number)";
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsNumber() || !(info[1].As<Napi::Number>().DoubleValue() > 0))
    throw Napi::TypeError::New(env, usage);
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<Napi::Float32Array> grads;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value g = list.Get(i);
    if (!g.IsTypedArray() || g.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw Napi::TypeError::New(env, usage);
    grads.push_back(g.As<Napi::Float32Array>());
  }
  double ss = 0;
  for (auto& g : grads) ss += sumOfSquares(g.Data(), static_cast<int64_t>(g.ElementLength()));
  const double norm = std::sqrt(ss), clip = info[1].As<Napi::Number>().DoubleValue();
  if (norm > clip) {
    const float f = static_cast<float>(clip / norm);
    for (auto& g : grads) scalePass(g.Data(), static_cast<int64_t>(g.ElementLength()), f);
  }
  return Napi::Number::New(env, norm);
}

// n floats in 2 MB pages where the kernel gives them (transparent huge pages on madvise): a table of tens of MB
// is written in 10 page faults instead of 5,000 (37 → 8 ms for the lesson's LSTM here), and its rows, read in
// the ids' order, miss the TLB less.
float* hugePageFloats(size_t n) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t bytes = (n * sizeof(float) + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, bytes);
#if defined(MADV_HUGEPAGE)
  if (p) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it, ordinary pages
#endif
  return static_cast<float*>(p);
}

// inputTable(embeddings [V*D], W [dirs*D*G*U], b [dirs*G*U], dirs) → [dirs*V*G*U]: for every direction and id v,
// embeddings[v]·W + b, the recurrent layer's input projection of that id (what Sequence.forwardTable reads).
Napi::Value InputTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto E = floats(info, 0, "embeddings");
  auto W = floats(info, 1, "kernel");
  auto b = floats(info, 2, "bias");
  const dim dirs = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : 1;
  const size_t bn = b.ElementLength();
  if ((dirs != 1 && dirs != 2) || bn == 0 || bn % dirs != 0 || W.ElementLength() % bn != 0 || W.ElementLength() == 0)
    throw Napi::RangeError::New(env, "inputTable: kernel must be [directions, D, gates × units] and bias [directions, gates × units], directions 1 or 2");
  const dim D = static_cast<dim>(W.ElementLength() / bn), GU = static_cast<dim>(bn) / dirs;
  if (E.ElementLength() == 0 || E.ElementLength() % D != 0)
    throw Napi::RangeError::New(env, "inputTable: embeddings has " + std::to_string(E.ElementLength()) + " elements, not rows of " + std::to_string(D));
  const dim V = static_cast<dim>(E.ElementLength()) / D;
  const size_t n = static_cast<size_t>(dirs * V * GU);
  float* data = hugePageFloats(n);
  if (!data) throw Napi::Error::New(env, "inputTable: out of memory (" + std::to_string(n * sizeof(float)) + " bytes)");
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(n * sizeof(float)));
  auto buffer = Napi::ArrayBuffer::New(env, data, n * sizeof(float), [n](Napi::Env e, void* p) {
    std::free(p);
    Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(n * sizeof(float)));
  });
  auto out = Napi::Float32Array::New(env, n, buffer, 0);
  for (dim d = 0; d < dirs; d++) {
    float* t = data + d * V * GU;
    if (dnnl_sgemm('N', 'N', V, GU, D, 1.0f, E.Data(), D, W.Data() + d * D * GU, GU, 0.0f, t, GU) != dnnl_success)
      throw Napi::Error::New(env, "oneDNN: sgemm failed");
    const float* bd = b.Data() + d * GU;
    for (dim v = 0; v < V; v++)
      for (dim j = 0; j < GU; j++) t[v * GU + j] += bd[j];
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Sequence", Sequence::Init(env));
  exports.Set("inputTable", Napi::Function::New(env, InputTable, "inputTable"));
  exports.Set("adam", Napi::Function::New(env, Adam, "adam"));
  exports.Set("movingAverage", Napi::Function::New(env, MovingAverage, "movingAverage"));
  exports.Set("clipByGlobalNorm", Napi::Function::New(env, ClipByGlobalNorm, "clipByGlobalNorm"));
  const dnnl_version_t* v = dnnl_version();
  exports.Set("onednnVersion", Napi::String::New(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
  return exports;
}

}  // namespace

NODE_API_MODULE(rnn_dnnl, Init)
