// rnn_dnnl: whole-sequence SimpleRNN / LSTM / GRU forward and backward on oneDNN's RNN primitives.
//
// One `Sequence` per (cell, T, B, D, U) caches its primitives and every buffer they use, so a training step
// allocates nothing. Weights stay in tfjs layout on the JS side: kernel [D, G*U], recurrent kernel
// [U, G*U], bias [G*U], with tfjs's gate order (LSTM i,f,c,o; GRU z,r,h), which is oneDNN's `ldigo` /
// `ldgo` layout and gate order (LSTM i,f,c̃,o; GRU u,r,o). tfjs's GRU is the reset_after=false form,
// oneDNN's `vanilla_gru`. Inputs and input gradients are batch-major [B, T, D] like tfjs.
//
// Two oneDNN 2.6 defects are designed around (tests in test/models/native.test.ts would catch both):
//  - with batch-major (`ntc`) input the input-weight gradient is wrong: the input is transposed to
//    time-major (`tnc`) here instead;
//  - with an implicit (zero-descriptor) initial state, the LSTM and SimpleRNN backward use h_t instead of
//    h_{t-1} for the recurrent-weight gradient: an explicit zero initial state is passed.
// oneDNN accumulates into the weight-gradient buffers, so they are zeroed before every backward.
#include <napi.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
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
  memory::desc wl, wi, ws;
};

struct Bwd {
  dnnl::primitive prim;
  memory::desc wl, wi, dwl, dwi, db;
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

class Sequence : public Napi::ObjectWrap<Sequence> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sequence",
                       {InstanceMethod<&Sequence::Forward>("forward"), InstanceMethod<&Sequence::Backward>("backward"),
                        InstanceMethod<&Sequence::ForwardIds>("forwardIds"),
                        InstanceMethod<&Sequence::BackwardEmbedding>("backwardEmbedding"),
                        InstanceAccessor<&Sequence::Generation>("generation")});
  }

  Sequence(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sequence>(info), eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsString()) throw Napi::TypeError::New(env, "Sequence(cell, T, B, D, U)");
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

    srcLayer_ = memory::desc({T_, B_, D_}, dt::f32, tag::tnc);
    dstLayer_ = memory::desc({T_, B_, U_}, dt::f32, tag::tnc);
    iter_ = memory::desc({1, 1, B_, U_}, dt::f32, tag::ldnc);
    userWl_ = memory::desc({1, 1, D_, G_, U_}, dt::f32, tag::ldigo);
    userWi_ = memory::desc({1, 1, U_, G_, U_}, dt::f32, tag::ldigo);
    bias_ = memory::desc({1, 1, G_, U_}, dt::f32, tag::ldgo);
    anyWl_ = memory::desc({1, 1, D_, G_, U_}, dt::f32, tag::any);
    anyWi_ = memory::desc({1, 1, U_, G_, U_}, dt::f32, tag::any);

    x_.init(srcLayer_, eng_);
    h0_.init(iter_, eng_);
    c0_.init(iter_, eng_);
    dst_.init(dstLayer_, eng_);
    hT_.init(iter_, eng_);
    cT_.init(iter_, eng_);
  }

 private:
  // ---- primitive construction (lazy: inference-only users never build the training primitives) ----

  template <class P>
  typename P::primitive_desc fwdPd(dnnl::prop_kind pk) {
    auto dir = dnnl::rnn_direction::unidirectional_left2right;
    if constexpr (std::is_same_v<P, dnnl::lstm_forward>) {
      typename P::desc d(pk, dir, srcLayer_, iter_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, iter_);
      return typename P::primitive_desc(d, eng_);
    } else if constexpr (std::is_same_v<P, dnnl::gru_forward>) {
      typename P::desc d(pk, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      return typename P::primitive_desc(d, eng_);
    } else {
      typename P::desc d(pk, dnnl::algorithm::eltwise_tanh, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      return typename P::primitive_desc(d, eng_);
    }
  }

  template <class P>
  Fwd fwdOf(const typename P::primitive_desc& pd) {
    return Fwd{P(pd), pd.weights_layer_desc(), pd.weights_iter_desc(), pd.workspace_desc()};
  }

  template <class P, class FP>
  Bwd bwdOf(const typename FP::primitive_desc& fpd) {
    using PD = typename P::primitive_desc;
    auto dir = dnnl::rnn_direction::unidirectional_left2right;
    PD pd;
    if constexpr (std::is_same_v<P, dnnl::lstm_backward>) {
      typename P::desc d(dnnl::prop_kind::backward, dir, srcLayer_, iter_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, iter_,
                         srcLayer_, iter_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, iter_);
      pd = PD(d, eng_, fpd);
    } else if constexpr (std::is_same_v<P, dnnl::gru_backward>) {
      typename P::desc d(dnnl::prop_kind::backward, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_, srcLayer_,
                         iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      pd = PD(d, eng_, fpd);
    } else {
      typename P::desc d(dnnl::prop_kind::backward, dnnl::algorithm::eltwise_tanh, dir, srcLayer_, iter_, anyWl_, anyWi_, bias_,
                         dstLayer_, iter_, srcLayer_, iter_, anyWl_, anyWi_, bias_, dstLayer_, iter_);
      pd = PD(d, eng_, fpd);
    }
    return Bwd{P(pd), pd.weights_layer_desc(), pd.weights_iter_desc(), pd.diff_weights_layer_desc(), pd.diff_weights_iter_desc(),
               pd.diff_bias_desc()};
  }

  template <class FP, class BP>
  void buildTraining() {
    auto fpd = fwdPd<FP>(dnnl::prop_kind::forward_training);
    train_ = fwdOf<FP>(fpd);
    bwd_ = bwdOf<BP, FP>(fpd);
  }

  void ensureInference() {
    if (inferReady_) return;
    switch (cell_) {
      case Cell::LSTM: inf_ = fwdOf<dnnl::lstm_forward>(fwdPd<dnnl::lstm_forward>(dnnl::prop_kind::forward_inference)); break;
      case Cell::GRU: inf_ = fwdOf<dnnl::gru_forward>(fwdPd<dnnl::gru_forward>(dnnl::prop_kind::forward_inference)); break;
      default: inf_ = fwdOf<dnnl::vanilla_rnn_forward>(fwdPd<dnnl::vanilla_rnn_forward>(dnnl::prop_kind::forward_inference)); break;
    }
    infWl_.init(inf_.wl, eng_);
    infWi_.init(inf_.wi, eng_);
    inferReady_ = true;
  }

  void ensureTraining() {
    if (trainReady_) return;
    switch (cell_) {
      case Cell::LSTM: buildTraining<dnnl::lstm_forward, dnnl::lstm_backward>(); break;
      case Cell::GRU: buildTraining<dnnl::gru_forward, dnnl::gru_backward>(); break;
      default: buildTraining<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(); break;
    }
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

  // ---- helpers ----

  Napi::Float32Array arg(const Napi::CallbackInfo& info, size_t i, size_t n, const char* what) {
    if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Float32Array");
    auto a = info[i].As<Napi::Float32Array>();
    if (a.ElementLength() != n)
      throw Napi::RangeError::New(info.Env(), std::string(what) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                                                  std::to_string(n));
    return a;
  }

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

  // [B, T, D] → [T, B, D]
  void toTimeMajor(const float* x) {
    float* out = x_.v.data();
    for (memory::dim b = 0; b < B_; b++)
      for (memory::dim t = 0; t < T_; t++) std::memcpy(out + (t * B_ + b) * D_, x + (b * T_ + t) * D_, D_ * sizeof(float));
  }

  // ---- JS methods ----

  // Runs the forward over x_ (time-major, already filled); h_T is left in hT_.
  void runForward(Napi::Env env, const float* W, const float* R, const float* b, bool training) {
    try {
      memory biasMem(bias_, eng_, const_cast<float*>(b));
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, x_.mem}, {DNNL_ARG_SRC_ITER, h0_.mem}, {DNNL_ARG_BIAS, biasMem},
                                              {DNNL_ARG_DST_LAYER, dst_.mem}, {DNNL_ARG_DST_ITER, hT_.mem}};
      if (cell_ == Cell::LSTM) {
        args[DNNL_ARG_SRC_ITER_C] = c0_.mem;
        args[DNNL_ARG_DST_ITER_C] = cT_.mem;
      }
      if (training) {
        ensureTraining();
        toPrimitive(userWl_, W, trWl_);
        toPrimitive(userWi_, R, trWi_);
        toPrimitive(userWl_, W, bwWl_);
        toPrimitive(userWi_, R, bwWi_);
        std::memcpy(bias0_.v.data(), b, G_ * U_ * sizeof(float));
        args[DNNL_ARG_WEIGHTS_LAYER] = trWl_.mem;
        args[DNNL_ARG_WEIGHTS_ITER] = trWi_.mem;
        args[DNNL_ARG_WORKSPACE] = ws_.mem;
        train_.prim.execute(strm_, args);
        generation_++;
        pending_ = true;
      } else {
        ensureInference();
        toPrimitive(userWl_, W, infWl_);
        toPrimitive(userWi_, R, infWi_);
        args[DNNL_ARG_WEIGHTS_LAYER] = infWl_.mem;
        args[DNNL_ARG_WEIGHTS_ITER] = infWi_.mem;
        inf_.prim.execute(strm_, args);
      }
      strm_.wait();
    } catch (const dnnl::error& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
  }

  Napi::Float32Array lastHidden(Napi::Env env) {
    auto h = Napi::Float32Array::New(env, B_ * U_);
    std::memcpy(h.Data(), hT_.v.data(), B_ * U_ * sizeof(float));
    return h;
  }

  // forward(x [B*T*D], W [D*G*U], R [U*G*U], b [G*U], training) → h_T [B*U]
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto x = arg(info, 0, B_ * T_ * D_, "x");
    auto W = arg(info, 1, D_ * G_ * U_, "kernel");
    auto R = arg(info, 2, U_ * G_ * U_, "recurrentKernel");
    auto b = arg(info, 3, G_ * U_, "bias");
    bool training = info.Length() > 4 && info[4].ToBoolean();
    toTimeMajor(x.Data());
    idsValid_ = false;
    runForward(info.Env(), W.Data(), R.Data(), b.Data(), training);
    return lastHidden(info.Env());
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
    float* out = x_.v.data();
    const float* e = E.Data();
    for (memory::dim t = 0; t < T_; t++)
      for (memory::dim bb = 0; bb < B_; bb++) std::memcpy(out + (t * B_ + bb) * D_, e + static_cast<int64_t>(id[bb * T_ + t]) * D_, D_ * sizeof(float));
    runForward(env, W.Data(), R.Data(), b.Data(), training);
    return lastHidden(env);
  }

  // Runs the backward for dy = dL/dh_T; the input gradient is left time-major in dSrc_.
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
      // the gradient reaches the last output only: diff_dst_layer is zero but at t = T-1
      float* last = dDst_.v.data() + (T_ - 1) * B_ * U_;
      std::memcpy(last, dy.Data(), B_ * U_ * sizeof(float));
      dWl_.zero();
      dWi_.zero();
      dB_.zero();
      std::unordered_map<int, memory> args = {
          {DNNL_ARG_SRC_LAYER, x_.mem},           {DNNL_ARG_SRC_ITER, h0_.mem},          {DNNL_ARG_WEIGHTS_LAYER, bwWl_.mem},
          {DNNL_ARG_WEIGHTS_ITER, bwWi_.mem},     {DNNL_ARG_BIAS, bias0_.mem},           {DNNL_ARG_DST_LAYER, dst_.mem},
          {DNNL_ARG_DST_ITER, hT_.mem},           {DNNL_ARG_WORKSPACE, ws_.mem},         {DNNL_ARG_DIFF_SRC_LAYER, dSrc_.mem},
          {DNNL_ARG_DIFF_SRC_ITER, dH0_.mem},     {DNNL_ARG_DIFF_WEIGHTS_LAYER, dWl_.mem}, {DNNL_ARG_DIFF_WEIGHTS_ITER, dWi_.mem},
          {DNNL_ARG_DIFF_BIAS, dB_.mem},          {DNNL_ARG_DIFF_DST_LAYER, dDst_.mem},  {DNNL_ARG_DIFF_DST_ITER, dIter_.mem}};
      if (cell_ == Cell::LSTM) {
        args[DNNL_ARG_SRC_ITER_C] = c0_.mem;
        args[DNNL_ARG_DST_ITER_C] = cT_.mem;
        args[DNNL_ARG_DIFF_SRC_ITER_C] = dC0_.mem;
        args[DNNL_ARG_DIFF_DST_ITER_C] = dIterC_.mem;
      }
      bwd_.prim.execute(strm_, args);
      strm_.wait();
      fromPrimitive(dWl_, userWl_, dW.Data());
      fromPrimitive(dWi_, userWi_, dR.Data());
      fromPrimitive(dB_, bias_, db.Data());
      strm_.wait();
      std::memset(last, 0, B_ * U_ * sizeof(float));
    } catch (const dnnl::error& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
    pending_ = false;
    auto out = Napi::Array::New(env, 3);
    out.Set(0u, dW);
    out.Set(1u, dR);
    out.Set(2u, db);
    return out;
  }

  // backward(dy [B*U], generation) → [dx [B*T*D], dW [D*G*U], dR [U*G*U], db [G*U]] for the last training forward
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array grads = runBackward(info);
    auto dx = Napi::Float32Array::New(env, B_ * T_ * D_);
    // [T, B, D] → [B, T, D]
    const float* s = dSrc_.v.data();
    float* o = dx.Data();
    for (memory::dim t = 0; t < T_; t++)
      for (memory::dim b = 0; b < B_; b++) std::memcpy(o + (b * T_ + t) * D_, s + (t * B_ + b) * D_, D_ * sizeof(float));
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
    const float* s = dSrc_.v.data();
    for (memory::dim t = 0; t < T_; t++)
      for (memory::dim bb = 0; bb < B_; bb++) {
        const int32_t id = ids_[bb * T_ + t];
        if (id >= V) continue;
        float* row = g + static_cast<int64_t>(id) * D_;
        const float* src = s + (t * B_ + bb) * D_;
        for (memory::dim d = 0; d < D_; d++) row[d] += src[d];
      }
    return grads;
  }

  Napi::Value Generation(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(generation_)); }

  dnnl::engine eng_;
  dnnl::stream strm_;
  Cell cell_ = Cell::SimpleRNN;
  memory::dim T_ = 0, B_ = 0, D_ = 0, U_ = 0, G_ = 1;
  memory::desc srcLayer_, dstLayer_, iter_, userWl_, userWi_, bias_, anyWl_, anyWi_;
  bool inferReady_ = false, trainReady_ = false, pending_ = false, idsValid_ = false;
  std::vector<int32_t> ids_;
  uint64_t generation_ = 0;
  Fwd inf_, train_;
  Bwd bwd_;
  Buf x_, h0_, c0_, dst_, hT_, cT_;
  Buf infWl_, infWi_, trWl_, trWi_, ws_, bwWl_, bwWi_, bias0_;
  Buf dWl_, dWi_, dB_, dDst_, dIter_, dIterC_, dSrc_, dH0_, dC0_;
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
