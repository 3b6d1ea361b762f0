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
  void toPrimitive(const memory::desc& user, float* data, Buf& dst) {
    memory src(user, eng_, data);
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

  // forward(x [B*T*D], W [D*G*U], R [U*G*U], b [G*U], training) → h_T [B*U]
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto x = arg(info, 0, B_ * T_ * D_, "x");
    auto W = arg(info, 1, D_ * G_ * U_, "kernel");
    auto R = arg(info, 2, U_ * G_ * U_, "recurrentKernel");
    auto b = arg(info, 3, G_ * U_, "bias");
    bool training = info.Length() > 4 && info[4].ToBoolean();
    try {
      toTimeMajor(x.Data());
      memory biasMem(bias_, eng_, b.Data());
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, x_.mem}, {DNNL_ARG_SRC_ITER, h0_.mem}, {DNNL_ARG_BIAS, biasMem},
                                              {DNNL_ARG_DST_LAYER, dst_.mem}, {DNNL_ARG_DST_ITER, hT_.mem}};
      if (cell_ == Cell::LSTM) {
        args[DNNL_ARG_SRC_ITER_C] = c0_.mem;
        args[DNNL_ARG_DST_ITER_C] = cT_.mem;
      }
      if (training) {
        ensureTraining();
        toPrimitive(userWl_, W.Data(), trWl_);
        toPrimitive(userWi_, R.Data(), trWi_);
        toPrimitive(userWl_, W.Data(), bwWl_);
        toPrimitive(userWi_, R.Data(), bwWi_);
        std::memcpy(bias0_.v.data(), b.Data(), G_ * U_ * sizeof(float));
        args[DNNL_ARG_WEIGHTS_LAYER] = trWl_.mem;
        args[DNNL_ARG_WEIGHTS_ITER] = trWi_.mem;
        args[DNNL_ARG_WORKSPACE] = ws_.mem;
        train_.prim.execute(strm_, args);
        generation_++;
        pending_ = true;
      } else {
        ensureInference();
        toPrimitive(userWl_, W.Data(), infWl_);
        toPrimitive(userWi_, R.Data(), infWi_);
        args[DNNL_ARG_WEIGHTS_LAYER] = infWl_.mem;
        args[DNNL_ARG_WEIGHTS_ITER] = infWi_.mem;
        inf_.prim.execute(strm_, args);
      }
      strm_.wait();
    } catch (const dnnl::error& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    }
    auto h = Napi::Float32Array::New(env, B_ * U_);
    std::memcpy(h.Data(), hT_.v.data(), B_ * U_ * sizeof(float));
    return h;
  }

  // backward(dy [B*U], generation) → [dx [B*T*D], dW [D*G*U], dR [U*G*U], db [G*U]] for the last training forward
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto dy = arg(info, 0, B_ * U_, "dy");
    double gen = info.Length() > 1 ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!pending_ || gen != static_cast<double>(generation_))
      throw Napi::Error::New(env, "backward needs the saved activations of its own training forward, which a later forward replaced");
    auto dx = Napi::Float32Array::New(env, B_ * T_ * D_);
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
    // [T, B, D] → [B, T, D]
    const float* s = dSrc_.v.data();
    float* o = dx.Data();
    for (memory::dim t = 0; t < T_; t++)
      for (memory::dim b = 0; b < B_; b++) std::memcpy(o + (b * T_ + t) * D_, s + (t * B_ + b) * D_, D_ * sizeof(float));
    pending_ = false;
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, dx);
    out.Set(1u, dW);
    out.Set(2u, dR);
    out.Set(3u, db);
    return out;
  }

  Napi::Value Generation(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(generation_)); }

  dnnl::engine eng_;
  dnnl::stream strm_;
  Cell cell_ = Cell::SimpleRNN;
  memory::dim T_ = 0, B_ = 0, D_ = 0, U_ = 0, G_ = 1;
  memory::desc srcLayer_, dstLayer_, iter_, userWl_, userWi_, bias_, anyWl_, anyWi_;
  bool inferReady_ = false, trainReady_ = false, pending_ = false;
  uint64_t generation_ = 0;
  Fwd inf_, train_;
  Bwd bwd_;
  Buf x_, h0_, c0_, dst_, hT_, cT_;
  Buf infWl_, infWi_, trWl_, trWi_, ws_, bwWl_, bwWi_, bias0_;
  Buf dWl_, dWi_, dB_, dDst_, dIter_, dIterC_, dSrc_, dH0_, dC0_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Sequence", Sequence::Init(env));
  const dnnl_version_t* v = dnnl_version();
  exports.Set("onednnVersion", Napi::String::New(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
  return exports;
}

}  // namespace

NODE_API_MODULE(rnn_dnnl, Init)
