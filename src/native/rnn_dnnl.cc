// rnn_dnnl: whole-sequence SimpleRNN / LSTM / GRU forward and backward on oneDNN's RNN primitives.
//
// One `Sequence` per (cell, T, B, D, U) caches its primitives and every buffer they use, so a training step
// allocates nothing. Weights stay in tfjs layout on the JS side: kernel [D, G*U], recurrent kernel
// [U, G*U], bias [G*U], with tfjs's gate order (LSTM i,f,c,o; GRU z,r,h), which is oneDNN's `ldigo` /
// `ldgo` layout and gate order (LSTM i,f,c̃,o; GRU u,r,o). tfjs's GRU is the reset_after=false form,
// oneDNN's `vanilla_gru`. Inputs and input gradients are batch-major [B, T, D] like tfjs.
//
// Two oneDNN 2.6 defects are designed around (the parity tests in test/models/fused.test.ts catch both):
//  - with batch-major (`ntc`) input the input-weight gradient is wrong: the input is transposed to
//    time-major (`tnc`) here instead;
//  - with an implicit (zero-descriptor) initial state, the LSTM and SimpleRNN backward use h_t instead of
//    h_{t-1} for the recurrent-weight gradient: an explicit zero initial state is passed.
// oneDNN accumulates into the weight-gradient buffers, so they are zeroed before every backward.
//
// On two OpenMP threads (two cores) a batch of 4 or more rows is split in two halves that run side by side,
// one thread each (`Core`s; the weight gradients are summed): per step the recurrent products are small
// (64 × 128 by 128 × 4·128 for the LSTM), and two independent half-batches keep both cores busy without
// a barrier per step, ~1.2× faster here than one batch on two threads. The RNN primitives then run inside
// an OpenMP parallel region, so they get a user-managed scratchpad: one per half, shared by every Sequence
// of the process (Sequences never run at the same time: JS calls them one after another), so memory is
// what oneDNN's own shared scratchpad would take, not one scratchpad per primitive.
#include <napi.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

enum class Cell { SimpleRNN, LSTM, GRU };

int gatesOf(Cell c) { return c == Cell::LSTM ? 4 : c == Cell::GRU ? 3 : 1; }

struct Fwd {
  dnnl::primitive prim;
  memory::desc wl, wi, ws, scratch;
};

struct Bwd {
  dnnl::primitive prim;
  memory::desc wl, wi, dwl, dwi, db, scratch;
};

// Scratchpad memory for the half `slot` (0 or 1), shared by all Cores, grown to the largest request.
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

// A float buffer wrapped as oneDNN memory (zero-filled on creation).
struct Buf {
  std::vector<float> v;
  memory mem;
  void init(const memory::desc& md, const dnnl::engine& eng) {
    v.assign(md.get_size() / sizeof(float) + 1, 0.0f);
    mem = memory(md, eng, v.data());
  }
  void zero() { std::fill(v.begin(), v.end(), 0.0f); }
};

// One batch (or one half of it): oneDNN primitives and buffers for (cell, T, B, D, U).
class Core {
 public:
  // oneThread: the primitives will run on one thread of a parallel region (they are built for one thread)
  Core(Cell cell, memory::dim T, memory::dim B, memory::dim D, memory::dim U, bool oneThread, int slot)
      : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_), cell_(cell), T_(T), B_(B), D_(D), U_(U), G_(gatesOf(cell)), oneThread_(oneThread),
        slot_(slot) {
    srcLayer_ = memory::desc({T_, B_, D_}, dt::f32, tag::tnc);
    dstLayer_ = memory::desc({T_, B_, U_}, dt::f32, tag::tnc);
    iter_ = memory::desc({1, 1, B_, U_}, dt::f32, tag::ldnc);
    userWl_ = memory::desc({1, 1, D_, G_, U_}, dt::f32, tag::ldigo);
    userWi_ = memory::desc({1, 1, U_, G_, U_}, dt::f32, tag::ldigo);
    bias_ = memory::desc({1, 1, G_, U_}, dt::f32, tag::ldgo);
    anyWl_ = memory::desc({1, 1, D_, G_, U_}, dt::f32, tag::any);
    anyWi_ = memory::desc({1, 1, U_, G_, U_}, dt::f32, tag::any);
    attr_.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    x_.init(srcLayer_, eng_);
    h0_.init(iter_, eng_);
    c0_.init(iter_, eng_);
    dst_.init(dstLayer_, eng_);
    hT_.init(iter_, eng_);
    cT_.init(iter_, eng_);
  }

  memory::dim rows() const { return B_; }
  // time-major input [T, B, D]
  float* input() { return x_.v.data(); }
  // h_T [B, U]
  const float* lastHidden() const { return hT_.v.data(); }
  // time-major input gradient [T, B, D] after backward
  const float* inputGrad() const { return dSrc_.v.data(); }

  // Builds the primitives and converts the weights (sequential: reorders share the library's scratchpad).
  void prepareForward(const float* W, const float* R, const float* b, bool training) {
    if (training) {
      ensureTraining();
      toPrimitive(userWl_, W, trWl_);
      toPrimitive(userWi_, R, trWi_);
      toPrimitive(userWl_, W, bwWl_);
      toPrimitive(userWi_, R, bwWi_);
      std::memcpy(bias0_.v.data(), b, G_ * U_ * sizeof(float));
    } else {
      ensureInference();
      toPrimitive(userWl_, W, infWl_);
      toPrimitive(userWi_, R, infWi_);
      std::memcpy(infBias_.v.data(), b, G_ * U_ * sizeof(float));
    }
    strm_.wait();
  }

  // The RNN primitive alone (may run on one thread of a parallel region).
  void runForward(bool training) {
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, x_.mem}, {DNNL_ARG_SRC_ITER, h0_.mem}, {DNNL_ARG_DST_LAYER, dst_.mem},
                                            {DNNL_ARG_DST_ITER, hT_.mem}};
    if (cell_ == Cell::LSTM) {
      args[DNNL_ARG_SRC_ITER_C] = c0_.mem;
      args[DNNL_ARG_DST_ITER_C] = cT_.mem;
    }
    if (training) {
      args[DNNL_ARG_BIAS] = bias0_.mem;
      args[DNNL_ARG_WEIGHTS_LAYER] = trWl_.mem;
      args[DNNL_ARG_WEIGHTS_ITER] = trWi_.mem;
      args[DNNL_ARG_WORKSPACE] = ws_.mem;
      args[DNNL_ARG_SCRATCHPAD] = scratch(train_.scratch);
      train_.prim.execute(strm_, args);
    } else {
      args[DNNL_ARG_BIAS] = infBias_.mem;
      args[DNNL_ARG_WEIGHTS_LAYER] = infWl_.mem;
      args[DNNL_ARG_WEIGHTS_ITER] = infWi_.mem;
      args[DNNL_ARG_SCRATCHPAD] = scratch(inf_.scratch);
      inf_.prim.execute(strm_, args);
    }
    strm_.wait();
  }

  // The backward primitive alone for dL/dh_T = dy [B, U] (may run on one thread of a parallel region).
  void runBackward(const float* dy) {
    float* last = dDst_.v.data() + (T_ - 1) * B_ * U_;  // the gradient reaches the last output only
    std::memcpy(last, dy, B_ * U_ * sizeof(float));
    dWl_.zero();
    dWi_.zero();
    dB_.zero();
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC_LAYER, x_.mem},           {DNNL_ARG_SRC_ITER, h0_.mem},            {DNNL_ARG_WEIGHTS_LAYER, bwWl_.mem},
        {DNNL_ARG_WEIGHTS_ITER, bwWi_.mem},     {DNNL_ARG_BIAS, bias0_.mem},             {DNNL_ARG_DST_LAYER, dst_.mem},
        {DNNL_ARG_DST_ITER, hT_.mem},           {DNNL_ARG_WORKSPACE, ws_.mem},           {DNNL_ARG_DIFF_SRC_LAYER, dSrc_.mem},
        {DNNL_ARG_DIFF_SRC_ITER, dH0_.mem},     {DNNL_ARG_DIFF_WEIGHTS_LAYER, dWl_.mem}, {DNNL_ARG_DIFF_WEIGHTS_ITER, dWi_.mem},
        {DNNL_ARG_DIFF_BIAS, dB_.mem},          {DNNL_ARG_DIFF_DST_LAYER, dDst_.mem},    {DNNL_ARG_DIFF_DST_ITER, dIter_.mem},
        {DNNL_ARG_SCRATCHPAD, scratch(bwd_.scratch)}};
    if (cell_ == Cell::LSTM) {
      args[DNNL_ARG_SRC_ITER_C] = c0_.mem;
      args[DNNL_ARG_DST_ITER_C] = cT_.mem;
      args[DNNL_ARG_DIFF_SRC_ITER_C] = dC0_.mem;
      args[DNNL_ARG_DIFF_DST_ITER_C] = dIterC_.mem;
    }
    bwd_.prim.execute(strm_, args);
    strm_.wait();
    std::memset(last, 0, B_ * U_ * sizeof(float));
  }

  // The weight gradients of the last backward, in tfjs layout (sequential: reorders).
  void weightGrads(float* dW, float* dR, float* db) {
    fromPrimitive(dWl_, userWl_, dW);
    fromPrimitive(dWi_, userWi_, dR);
    fromPrimitive(dB_, bias_, db);
    strm_.wait();
  }

 private:
  // ---- primitive construction (lazy: inference-only users never build the training primitives) ----

  template <class P>
  typename P::primitive_desc fwdPd(dnnl::prop_kind pk) {
    auto dir = dnnl::rnn_direction::unidirectional_left2right;
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
    auto dir = dnnl::rnn_direction::unidirectional_left2right;
    PD pd;
    if constexpr (std::is_same_v<P, dnnl::lstm_backward>) {
      typename P::desc d(dnnl::prop_kind::backward, dir, srcLayer_, iter_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, iter_,
                         srcLayer_, iter_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, iter_);
      pd = PD(d, attr_, eng_, fpd);
    } else if constexpr (std::is_same_v<P, dnnl::gru_backward>) {
      typename P::desc d(dnnl::prop_kind::backward, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, srcLayer_,
                         iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      pd = PD(d, attr_, eng_, fpd);
    } else {
      typename P::desc d(dnnl::prop_kind::backward, dnnl::algorithm::eltwise_tanh, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_,
                         dstLayer_, iter_, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      pd = PD(d, attr_, eng_, fpd);
    }
    return Bwd{P(pd), pd.weights_layer_desc(), pd.weights_iter_desc(), pd.diff_weights_layer_desc(), pd.diff_weights_iter_desc(),
               pd.diff_bias_desc(), pd.scratchpad_desc()};
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
    build([this] { buildInference(); });
    infWl_.init(inf_.wl, eng_);
    infWi_.init(inf_.wi, eng_);
    infBias_.init(bias_, eng_);
    inferReady_ = true;
  }

  void buildInference() {
    switch (cell_) {
      case Cell::LSTM: inf_ = fwdOf<dnnl::lstm_forward>(fwdPd<dnnl::lstm_forward>(dnnl::prop_kind::forward_inference)); break;
      case Cell::GRU: inf_ = fwdOf<dnnl::gru_forward>(fwdPd<dnnl::gru_forward>(dnnl::prop_kind::forward_inference)); break;
      default: inf_ = fwdOf<dnnl::vanilla_rnn_forward>(fwdPd<dnnl::vanilla_rnn_forward>(dnnl::prop_kind::forward_inference)); break;
    }
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
    trWl_.init(train_.wl, eng_);
    trWi_.init(train_.wi, eng_);
    ws_.init(train_.ws, eng_);
    bwWl_.init(bwd_.wl, eng_);
    bwWi_.init(bwd_.wi, eng_);
    bias0_.init(bias_, eng_);
    dWl_.init(bwd_.dwl, eng_);
    dWi_.init(bwd_.dwi, eng_);
    dB_.init(bwd_.db, eng_);
    dDst_.init(dstLayer_, eng_);
    dIter_.init(iter_, eng_);
    dIterC_.init(iter_, eng_);
    dSrc_.init(srcLayer_, eng_);
    dH0_.init(iter_, eng_);
    dC0_.init(iter_, eng_);
    trainReady_ = true;
  }

  memory scratch(const memory::desc& md) { return memory(md, eng_, SharedScratch::get(slot_, md.get_size())); }

  // user (tfjs-layout) weights → the primitive's chosen layout
  void toPrimitive(const memory::desc& user, const float* data, Buf& dst) {
    memory src(user, eng_, const_cast<float*>(data));  // only read
    if (user == dst.mem.get_desc()) {
      std::memcpy(dst.v.data(), data, user.get_size());
    } else {
      dnnl::reorder(src, dst.mem).execute(strm_, src, dst.mem);
    }
  }

  void fromPrimitive(Buf& src, const memory::desc& user, float* data) {
    memory dst(user, eng_, data);
    if (user == src.mem.get_desc()) {
      std::memcpy(data, src.v.data(), user.get_size());
    } else {
      dnnl::reorder(src.mem, dst).execute(strm_, src.mem, dst);
    }
  }

  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::primitive_attr attr_;
  Cell cell_;
  memory::dim T_, B_, D_, U_, G_;
  bool oneThread_;
  int slot_;
  memory::desc srcLayer_, dstLayer_, iter_, userWl_, userWi_, bias_, anyWl_, anyWi_;
  bool inferReady_ = false, trainReady_ = false;
  Fwd inf_, train_;
  Bwd bwd_;
  Buf x_, h0_, c0_, dst_, hT_, cT_;
  Buf infWl_, infWi_, infBias_, trWl_, trWi_, ws_, bwWl_, bwWi_, bias0_;
  Buf dWl_, dWi_, dB_, dDst_, dIter_, dIterC_, dSrc_, dH0_, dC0_;
};

// Runs f(part) for every part, side by side on one thread each when there are two; the first exception wins.
template <class F>
void eachPart(std::vector<Core>& parts, F f) {
  const int n = static_cast<int>(parts.size());
  if (n == 1) {  // no OpenMP region around it: the primitive runs on all threads
    f(parts[0]);
    return;
  }
  std::string error;
#pragma omp parallel for num_threads(n) schedule(static, 1)
  for (int i = 0; i < n; i++) {
    try {
      f(parts[i]);
    } catch (const std::exception& e) {
#pragma omp critical
      if (error.empty()) error = e.what();
    }
  }
  if (!error.empty()) throw std::runtime_error(error);
}

class Sequence : public Napi::ObjectWrap<Sequence> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sequence",
                       {InstanceMethod<&Sequence::Forward>("forward"), InstanceMethod<&Sequence::Backward>("backward"),
                        InstanceMethod<&Sequence::ForwardIds>("forwardIds"),
                        InstanceMethod<&Sequence::BackwardEmbedding>("backwardEmbedding"),
                        InstanceAccessor<&Sequence::Generation>("generation"), InstanceAccessor<&Sequence::Parts>("parts")});
  }

  Sequence(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sequence>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsString()) throw Napi::TypeError::New(env, "Sequence(cell, T, B, D, U[, parts])");
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
    const memory::dim first = (B_ + parts - 1) / parts;
    try {
      parts_.reserve(parts);
      for (memory::dim r0 = 0; r0 < B_; r0 += first) {
        start_.push_back(r0);
        parts_.emplace_back(cell_, T_, std::min(first, B_ - r0), D_, U_, parts > 1, static_cast<int>(parts_.size()));
      }
    } catch (const dnnl::error& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
  }

 private:
  Napi::Float32Array arg(const Napi::CallbackInfo& info, size_t i, size_t n, const char* what) {
    if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Float32Array");
    auto a = info[i].As<Napi::Float32Array>();
    if (a.ElementLength() != n)
      throw Napi::RangeError::New(info.Env(), std::string(what) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                                                  std::to_string(n));
    return a;
  }

  // row(b, t) → the D floats of batch row b at step t, copied into each part's time-major input
  template <class Row>
  void fillInputs(Row row) {
    for (size_t p = 0; p < parts_.size(); p++) {
      Core& c = parts_[p];
      float* out = c.input();
      const memory::dim Bp = c.rows();
      for (memory::dim t = 0; t < T_; t++)
        for (memory::dim b = 0; b < Bp; b++) std::memcpy(out + (t * Bp + b) * D_, row(start_[p] + b, t), D_ * sizeof(float));
    }
  }

  Napi::Float32Array runForward(Napi::Env env, const float* W, const float* R, const float* b, bool training) {
    try {
      for (Core& c : parts_) c.prepareForward(W, R, b, training);
      eachPart(parts_, [training](Core& c) { c.runForward(training); });
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
    if (training) {
      generation_++;
      pending_ = true;
    }
    auto h = Napi::Float32Array::New(env, B_ * U_);
    for (size_t p = 0; p < parts_.size(); p++) std::memcpy(h.Data() + start_[p] * U_, parts_[p].lastHidden(), parts_[p].rows() * U_ * sizeof(float));
    return h;
  }

  // forward(x [B*T*D], W [D*G*U], R [U*G*U], b [G*U], training) → h_T [B*U]
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto x = arg(info, 0, B_ * T_ * D_, "x");
    auto W = arg(info, 1, D_ * G_ * U_, "kernel");
    auto R = arg(info, 2, U_ * G_ * U_, "recurrentKernel");
    auto b = arg(info, 3, G_ * U_, "bias");
    bool training = info.Length() > 4 && info[4].ToBoolean();
    const float* xs = x.Data();
    fillInputs([&](memory::dim row, memory::dim t) { return xs + (row * T_ + t) * D_; });
    idsValid_ = false;
    return runForward(info.Env(), W.Data(), R.Data(), b.Data(), training);
  }

  // forwardIds(ids [B*T] int32, embeddings [V*D], W, R, b, training) → h_T [B*U]: the embedding lookup is
  // done here, straight into the time-major input (the ids are kept for backwardEmbedding).
  Napi::Value ForwardIds(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, "ids must be an Int32Array");
    auto ids = info[0].As<Napi::Int32Array>();
    if (ids.ElementLength() != static_cast<size_t>(B_ * T_))
      throw Napi::RangeError::New(env, "ids has " + std::to_string(ids.ElementLength()) + " elements, expected " + std::to_string(B_ * T_));
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, "embeddings must be a Float32Array");
    auto E = info[1].As<Napi::Float32Array>();
    if (E.ElementLength() % D_ != 0) throw Napi::RangeError::New(env, "embeddings is not a multiple of the input dimension");
    const int64_t V = static_cast<int64_t>(E.ElementLength() / D_);
    auto W = arg(info, 2, D_ * G_ * U_, "kernel");
    auto R = arg(info, 3, U_ * G_ * U_, "recurrentKernel");
    auto b = arg(info, 4, G_ * U_, "bias");
    bool training = info.Length() > 5 && info[5].ToBoolean();
    const int32_t* id = ids.Data();
    for (memory::dim i = 0; i < B_ * T_; i++)
      if (id[i] < 0 || id[i] >= V) throw Napi::RangeError::New(env, "token id " + std::to_string(id[i]) + " is outside the embedding (size " + std::to_string(V) + ")");
    ids_.assign(id, id + B_ * T_);
    idsValid_ = true;
    const float* e = E.Data();
    fillInputs([&](memory::dim row, memory::dim t) { return e + static_cast<int64_t>(id[row * T_ + t]) * D_; });
    return runForward(env, W.Data(), R.Data(), b.Data(), training);
  }

  // Runs the backward for dy = dL/dh_T; returns [dW, dR, db] summed over the parts.
  Napi::Array runBackward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto dy = arg(info, 0, B_ * U_, "dy");
    double gen = info.Length() > 1 ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!pending_ || gen != static_cast<double>(generation_))
      throw Napi::Error::New(env, "backward needs the saved activations of its own training forward, which a later forward replaced");
    auto dW = Napi::Float32Array::New(env, D_ * G_ * U_);
    auto dR = Napi::Float32Array::New(env, U_ * G_ * U_);
    auto db = Napi::Float32Array::New(env, G_ * U_);
    try {
      const float* dys = dy.Data();
      std::vector<const float*> from;
      for (size_t p = 0; p < parts_.size(); p++) from.push_back(dys + start_[p] * U_);
      eachPart(parts_, [&](Core& c) { c.runBackward(from[&c - parts_.data()]); });
      parts_[0].weightGrads(dW.Data(), dR.Data(), db.Data());
      if (parts_.size() > 1) {
        if (scratchW_.size() != dW.ElementLength()) {
          scratchW_.resize(dW.ElementLength());
          scratchR_.resize(dR.ElementLength());
          scratchB_.resize(db.ElementLength());
        }
        for (size_t p = 1; p < parts_.size(); p++) {
          parts_[p].weightGrads(scratchW_.data(), scratchR_.data(), scratchB_.data());
          for (size_t i = 0; i < scratchW_.size(); i++) dW.Data()[i] += scratchW_[i];
          for (size_t i = 0; i < scratchR_.size(); i++) dR.Data()[i] += scratchR_[i];
          for (size_t i = 0; i < scratchB_.size(); i++) db.Data()[i] += scratchB_[i];
        }
      }
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
    pending_ = false;
    auto out = Napi::Array::New(env, 3);
    out.Set(0u, dW);
    out.Set(1u, dR);
    out.Set(2u, db);
    return out;
  }

  // each(row, t, grad): the input gradient of batch row `row` at step t
  template <class Each>
  void eachInputGrad(Each each) {
    for (size_t p = 0; p < parts_.size(); p++) {
      const float* s = parts_[p].inputGrad();
      const memory::dim Bp = parts_[p].rows();
      for (memory::dim t = 0; t < T_; t++)
        for (memory::dim b = 0; b < Bp; b++) each(start_[p] + b, t, s + (t * Bp + b) * D_);
    }
  }

  // backward(dy [B*U], generation) → [dx [B*T*D], dW [D*G*U], dR [U*G*U], db [G*U]] for the last training forward
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array grads = runBackward(info);
    auto dx = Napi::Float32Array::New(env, B_ * T_ * D_);
    float* o = dx.Data();
    eachInputGrad([&](memory::dim row, memory::dim t, const float* g) { std::memcpy(o + (row * T_ + t) * D_, g, D_ * sizeof(float)); });
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, dx);
    for (uint32_t i = 0; i < 3; i++) out.Set(i + 1, grads.Get(i));
    return out;
  }

  // backwardEmbedding(dy, generation, dEmbeddings [V*D]) → [dW, dR, db] after a forwardIds; the embedding
  // gradient is written into dEmbeddings (zeroed, then the input gradient of every step scatter-added to its
  // token's row: the dense gradient tfjs's gather computes, without materializing the [B, T, D] one).
  Napi::Value BackwardEmbedding(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!idsValid_) throw Napi::Error::New(env, "backwardEmbedding needs a forwardIds");
    if (info.Length() < 3 || !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, "dEmbeddings must be a Float32Array");
    auto dE = info[2].As<Napi::Float32Array>();
    Napi::Array grads = runBackward(info);
    const int64_t V = static_cast<int64_t>(dE.ElementLength() / D_);
    float* g = dE.Data();
    std::memset(g, 0, dE.ElementLength() * sizeof(float));
    eachInputGrad([&](memory::dim row, memory::dim t, const float* src) {
      const int32_t id = ids_[row * T_ + t];
      if (id >= V) return;
      float* dst = g + static_cast<int64_t>(id) * D_;
      for (memory::dim d = 0; d < D_; d++) dst[d] += src[d];
    });
    return grads;
  }

  Napi::Value Generation(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(generation_)); }
  Napi::Value Parts(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(parts_.size())); }

  Cell cell_ = Cell::SimpleRNN;
  memory::dim T_ = 0, B_ = 0, D_ = 0, U_ = 0, G_ = 1;
  std::vector<Core> parts_;
  std::vector<memory::dim> start_;
  bool pending_ = false, idsValid_ = false;
  uint64_t generation_ = 0;
  std::vector<int32_t> ids_;
  std::vector<float> scratchW_, scratchR_, scratchB_;
};

// adam(param, grad, m, v, lr, beta1, beta2, epsilon, oneMinusAccBeta1, oneMinusAccBeta2): one in-place pass
// of tfjs's AdamOptimizer update over a parameter tensor, in float32 like tfjs's ops:
//   m ← m·β1 + g·(1−β1);  v ← v·β2 + g²·(1−β2);  p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
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
  float *p = a[0].Data(), *g = a[1].Data(), *m = a[2].Data(), *v = a[3].Data();
  const int64_t n = static_cast<int64_t>(a[0].ElementLength());
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * ob1;
    const float vi = v[i] * b2 + (gi * gi) * ob2;
    m[i] = mi;
    v[i] = vi;
    p[i] = (mi / c1) / (std::sqrt(vi / c2) + eps) * -lr + p[i];
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Sequence", Sequence::Init(env));
  exports.Set("adam", Napi::Function::New(env, Adam, "adam"));
  const dnnl_version_t* v = dnnl_version();
  exports.Set("onednnVersion", Napi::String::New(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
  return exports;
}

}  // namespace

NODE_API_MODULE(rnn_dnnl, Init)
