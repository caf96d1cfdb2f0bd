#include "model/device_plan.h"

#include <algorithm>

#include "model/arena.h"
#include "model/transformer.h"

namespace lengen {
namespace {

// The encoding's tensors through explicit host copies of small slices.
class ModelParams final : public ParamAccess {
 public:
  explicit ModelParams(Transformer& m) : m_(m) {}
  std::vector<float> read(int64_t offset, size_t n) const override {
    return download(m_.backend(), m_.param(size_t(offset)), n);
  }
  void add_grad(int64_t offset, const std::vector<float>& g) const override {
    std::vector<float> cur = download(m_.backend(), m_.grad(size_t(offset)), g.size());
    for (size_t i = 0; i < g.size(); ++i) cur[i] += g[i];
    upload(m_.backend(), m_.grad(size_t(offset)), cur);
  }

 private:
  Transformer& m_;
};

}  // namespace

void build_device_plan(Transformer& model, const PositionView& view, bool training,
                       Buffer& arena, DevicePlan& out) {
  Backend& be = model.backend();
  const ModelConfig& c = model.config();
  out = DevicePlan{};
  out.view = view;
  model.pe().plan(view, ModelParams(model), out.host);
  const EncodingPlan& p = out.host;
  const size_t N = size_t(view.B) * view.Q;

  // The bias's query values: the new tokens' (row b's at b * Q).
  std::vector<int32_t> q_pos;
  if (p.bias.active) {
    q_pos.resize(N);
    for (int b = 0; b < view.B; ++b)
      for (int a = 0; a < view.Q; ++a) q_pos[size_t(b) * view.Q + a] = view.query(p.bias.stream, b, a);
  }
  const size_t keys = size_t(view.B) * view.row_stride;
  const bool computed_grad = training && p.bias.active && p.bias.values_param == kNoParameter &&
                             p.bias.computed_values_learned;
  struct Views {
    int32_t *ids = nullptr, *past = nullptr, *q_pos = nullptr, *k_pos = nullptr, *col_of = nullptr,
            *row_of = nullptr;
    float *table = nullptr, *cos = nullptr, *sin = nullptr, *q_scale = nullptr, *k_scale = nullptr,
          *values = nullptr, *dvalues = nullptr;
    float *rel_embed = nullptr, *rel_keys = nullptr, *rel_dkeys = nullptr, *rel_queries = nullptr,
          *rel_dqueries = nullptr, *rel_table = nullptr, *rel_dtable = nullptr;
  } v;
  const RelativeKeysPlan& rk = p.relative;
  const size_t HD = size_t(c.hd()), rel_table = rk.active ? N * c.n_heads * rk.rows : 0;
  const size_t rel_keys = rk.active ? size_t(rk.rows) * HD : 0, rel_queries = rk.active ? N * HD : 0;
  auto lay_out = [&](Carver& at) {
    v.ids = at.take<int32_t>(p.input.ids.size());
    v.table = at.take<float>(p.input.table.size());
    v.cos = at.take<float>(p.rotation.cos.size());
    v.sin = at.take<float>(p.rotation.sin.size());
    v.q_scale = at.take<float>(p.rotation.q_scale.size());
    v.k_scale = at.take<float>(p.rotation.k_scale.size());
    v.q_pos = at.take<int32_t>(q_pos.size());
    v.k_pos = at.take<int32_t>(p.bias.active ? keys : 0);
    v.col_of = at.take<int32_t>(p.bias.col_of.size());
    v.row_of = at.take<int32_t>(p.bias.row_of.size());
    v.values = at.take<float>(p.bias.values.size());
    v.dvalues = at.take<float>(computed_grad ? p.bias.values.size() : 0);
    v.past = at.take<int32_t>(view.past ? size_t(view.B) : 0);
    v.rel_embed = at.take<float>(rk.embeddings.size());
    v.rel_keys = at.take<float>(rel_keys);
    v.rel_queries = at.take<float>(rel_queries);
    v.rel_table = at.take<float>(rel_table);
    v.rel_dkeys = at.take<float>(training ? rel_keys : 0);
    v.rel_dqueries = at.take<float>(training ? rel_queries : 0);
    v.rel_dtable = at.take<float>(training ? rel_table : 0);
  };
  Carver size;
  lay_out(size);
  if (size.used() > arena.bytes()) {
    // Grown by half again at least: decoding adds a key per row and step, and a score-bias
    // plan holds the keys' positions, so an exact fit would reallocate at every step.
    const size_t bytes = std::max(size.used(), arena.bytes() + arena.bytes() / 2);
    arena = Buffer();
    arena = Buffer(be, bytes);
  }
  Carver at(arena.data());
  lay_out(at);

  if (view.past) {
    be.upload(v.past, view.past, sizeof(int32_t) * view.B);
    out.past = v.past;
  }
  if (p.input.active) {
    upload(be, v.ids, p.input.ids);
    out.input_ids = v.ids;
    if (p.input.table_param != kNoParameter) {
      out.input_table = model.param(size_t(p.input.table_param));
      if (training) out.input_dtable = model.grad(size_t(p.input.table_param));
    } else {
      upload(be, v.table, p.input.table);
      out.input_table = v.table;
    }
  }
  if (p.rotation.active) {
    upload(be, v.cos, p.rotation.cos);
    upload(be, v.sin, p.rotation.sin);
    upload(be, v.q_scale, p.rotation.q_scale);
    upload(be, v.k_scale, p.rotation.k_scale);
    out.rotates = true;
    RotationArgs r;
    r.cos = v.cos, r.sin = v.sin;
    r.uniform_scale = p.rotation.uniform_scale;
    r.H = c.n_heads, r.dh = c.d_head, r.half = p.rotation.half;
    r.interleaved = p.rotation.interleaved;
    out.rotate_q = out.rotate_k = r;
    if (!p.rotation.q_scale.empty()) out.rotate_q.pair_scale = v.q_scale;
    if (!p.rotation.k_scale.empty()) out.rotate_k.pair_scale = v.k_scale;
  }
  if (p.bias.active) {
    const BiasPlan& bp = p.bias;
    upload(be, v.q_pos, q_pos);
    be.upload(v.k_pos, view.streams[bp.stream], keys * sizeof(int32_t));
    upload(be, v.col_of, bp.col_of);
    upload(be, v.row_of, bp.row_of);
    out.biased = true;
    ScoreBias& s = out.bias;
    s.q_pos = v.q_pos, s.k_pos = v.k_pos;
    s.col_of = v.col_of, s.dmin = bp.dmin, s.dmax = bp.dmax;
    s.row_of = bp.row_of.empty() ? nullptr : v.row_of, s.qmin = bp.qmin, s.qmax = bp.qmax;
    s.h_stride = bp.h_stride, s.r_stride = bp.r_stride, s.c_stride = bp.c_stride;
    s.extent = bp.extent;
    if (rk.active) {  // the blocks fill the table layer by layer
      upload(be, v.rel_embed, rk.embeddings);
      DevicePlan::RelativeKeys& r = out.relative;
      r.active = true, r.rows = rk.rows, r.embeddings = v.rel_embed;
      r.keys = v.rel_keys, r.queries = v.rel_queries, r.table = v.rel_table;
      r.dkeys = v.rel_dkeys, r.dqueries = v.rel_dqueries, r.dtable = v.rel_dtable;
      s.values = r.table, s.dvalues = r.dtable;
      s.h_stride = rk.rows, s.r_stride = 0, s.c_stride = 1, s.q_stride = int64_t(c.n_heads) * rk.rows;
      s.extent = int64_t(rel_table);
    } else if (bp.values_param != kNoParameter) {
      s.values = model.param(size_t(bp.values_param));
      if (training) s.dvalues = model.grad(size_t(bp.values_param));
    } else {
      upload(be, v.values, bp.values);
      s.values = v.values;
      if (computed_grad) {
        be.zero(v.dvalues, bp.values.size() * sizeof(float));
        s.dvalues = out.computed_dvalues = v.dvalues;
      }
    }
  }
}

void device_plan_backward(Transformer& model, const DevicePlan& plan) {
  if (!plan.computed_dvalues) return;
  const std::vector<float> dvalues =
      download(model.backend(), plan.computed_dvalues, plan.host.bias.values.size());
  model.pe().plan_backward(plan.view, ModelParams(model), plan.host, dvalues);
}

}  // namespace lengen
