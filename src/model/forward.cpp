#include "model/forward.h"

#include <cmath>

#include "model/block.h"
#include "util/error.h"

namespace lengen {
namespace {

using Mode = Workspace::Mode;

}  // namespace

StreamSet batch_streams(const Transformer& m, const Batch& batch) {
  const PositionalEncoding& pe = m.pe();
  const size_t N = size_t(batch.B) * batch.T;
  StreamSet s;
  s[Stream::Position] = batch.pos;
  if (!batch.place.empty()) s[Stream::DigitPlace] = batch.place;
  DerivedStreams out;
  for (Stream st : pe.streams()) {
    if (!pe.derives(st)) {
      if (s[st].size() != N)
        fail("positional encoding '{}' reads the {} stream, which this batch does not have",
             pe.name(), stream_name(st));
      continue;
    }
    s[st].assign(N, 0);
    out.of[int(st)] = s[st].data();
  }
  for (int b = 0; b < batch.B; ++b) {
    StreamState state;  // fresh at every row
    DerivedStreams row;
    for (int i = 0; i < kNumStreams; ++i) row.of[i] = out.of[i] ? out.of[i] + size_t(b) * batch.T : nullptr;
    pe.derive_streams(batch.tokens.data() + size_t(b) * batch.T, batch.T, state, row);
  }
  pe.check_streams(s.view(), int(N));
  return s;
}

namespace {

void check_batch(const Transformer& m, const Batch& batch) {
  const int N = batch.B * batch.T, V = m.config().vocab_size;
  if (int(batch.tokens.size()) != N || int(batch.pos.size()) != N ||
      (!batch.place.empty() && int(batch.place.size()) != N))
    fail("batch: tokens/positions size does not match B*T = {}", N);
  for (int n = 0; n < N; ++n)
    if (batch.tokens[n] < 0 || batch.tokens[n] >= V)
      fail("token id {} at batch position {} is outside the vocabulary of {}", batch.tokens[n], n,
           V);
}

void check_targets(const Batch& batch, const std::vector<int32_t>& rows, int V) {
  for (int32_t n : rows)
    if (batch.targets[n] < 0 || batch.targets[n] >= V)
      fail("target id {} at batch position {} is outside the vocabulary of {}", batch.targets[n], n,
           V);
}

std::vector<int32_t> weighted_rows(const Batch& batch) {
  std::vector<int32_t> rows;
  for (size_t n = 0; n < batch.weights.size(); ++n)
    if (batch.weights[n] != 0.0f) rows.push_back(int32_t(n));
  return rows;
}

std::vector<int32_t> all_rows(const Batch& batch) {
  std::vector<int32_t> rows(size_t(batch.B) * batch.T);
  for (size_t n = 0; n < rows.size(); ++n) rows[n] = int32_t(n);
  return rows;
}

// One batch through the model: its streams and plan, then the flat list of calls.
struct Pass {
  Transformer& m;
  const Batch& batch;
  Workspace& ws;
  StreamSet streams;  // kept for the plan's backward
  BlockCall call;

  Pass(Transformer& model, const Batch& b, Workspace& w) : m(model), batch(b), ws(w) {}

  // Embeddings, encoding input, blocks, final norm. training: keep every block's activations
  // and apply dropout; capture: [L, B, H, T, T] attention probabilities.
  void forward(const std::vector<int32_t>& head_rows, bool training, uint64_t key,
               float* capture = nullptr) {
    check_batch(m, batch);
    const ModelConfig& c = m.config();
    Backend& be = m.backend();
    const int B = batch.B, T = batch.T, N = B * T, L = c.n_layers, D = c.d_model;
    const size_t ND = size_t(N) * D;
    const float p = training ? c.dropout : 0.0f;
    streams = batch_streams(m, batch);
    ws.prepare(B, T, int(head_rows.size()), training ? Mode::Training : Mode::Inference);
    const PositionView view{B, T, T, nullptr, streams.view()};
    build_device_plan(m, view, training, ws.plan_arena, ws.plan);
    call = BlockCall{B, T, &ws.plan, p, key, nullptr};
    if (ws.plan.relative.active)  // constants of the call: no gradient flows through the mask
      be.dropout_forward(ws.plan.relative.embeddings, size_t(ws.plan.relative.rows) * D, p,
                         dropout_site_key(key, -1, DropoutSite::RelativeEmbeddings));

    upload(be, ws.tokens, batch.tokens);
    float* x = ws.block(0).resid_in;
    embed_forward(m, ws, x, N);  // [N, D]
    be.dropout_forward(x, ND, p, dropout_site_key(key, -1, DropoutSite::Embed));
    for (int l = 0; l < L; ++l) {
      const BlockActs& a = ws.block(l);
      float* out = l + 1 < L ? ws.block(l + 1).resid_in : ws.final_resid();
      call.capture = capture ? capture + size_t(l) * B * c.n_heads * T * T : nullptr;
      block_forward(m, l, a, out, ws.branch, call);
    }
    call.capture = nullptr;
    norm_forward(m, ws.lnf, ws.lnf_mean, ws.lnf_rstd, ws.final_resid(), m.final_norm_w(),
                 m.final_norm_b(), N);
    be.dropout_forward(ws.lnf, ND, p, dropout_site_key(key, L, DropoutSite::Final));
    head(head_rows);
  }

  void head(const std::vector<int32_t>& rows) {
    const int N = batch.B * batch.T;
    for (int32_t r : rows)
      if (r < 0 || r >= N) fail("logits: token row {} out of range", r);
    upload(m.backend(), ws.rows, rows);
    head_forward(m, ws, int(rows.size()));
  }

  // Weighted cross-entropy of the head rows; leaves d(loss)/d(logits) in ws.logits.
  double cross_entropy(const std::vector<int32_t>& rows) {
    std::vector<int32_t> targets(rows.size());
    std::vector<float> weights(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      targets[i] = batch.targets[rows[i]];
      weights[i] = batch.weights[rows[i]];
    }
    if (rows.empty()) return 0.0;
    upload(m.backend(), ws.targets, targets);
    upload(m.backend(), ws.weights, weights);
    return m.backend().softmax_xent(ws.logits, ws.targets, ws.weights, int(rows.size()),
                                    m.config().vocab_size);
  }

  // Expects ws.logits to hold d(loss)/d(logits) of the head rows.
  void backward(int M) {
    const ModelConfig& c = m.config();
    Backend& be = m.backend();
    const int N = batch.B * batch.T, L = c.n_layers, D = c.d_model, V = c.vocab_size;
    const size_t ND = size_t(N) * D;
    const BackwardScratch& d = ws.d;
    const uint64_t key = call.dropout_key;
    // head
    be.zero(d.d_lnf, ND * sizeof(float));
    if (M > 0) {
      be.linear_backward(d.d_head, m.grad(m.head_offset()), ws.logits, ws.head_in,
                         m.param(m.head_offset()), M, D, V, false);
      be.scatter_add_rows(d.d_lnf, d.d_head, ws.rows, M, D, head_scale(c));
    }
    be.dropout_backward(d.d_lnf, ND, call.dropout, dropout_site_key(key, L, DropoutSite::Final));
    be.zero(d.d_resid, ND * sizeof(float));
    norm_backward(m, d.d_resid, d.d_lnf, ws.final_resid(), ws.lnf_mean, ws.lnf_rstd,
                  m.final_norm_w(), m.final_norm_b(), N);
    for (int l = L - 1; l >= 0; --l) block_backward(m, l, ws.block(l), call, d);
    // embeddings and the encoding's input table
    be.dropout_backward(d.d_resid, ND, call.dropout, dropout_site_key(key, -1, DropoutSite::Embed));
    const DevicePlan& plan = ws.plan;
    if (plan.input_dtable)
      be.table_add_backward(plan.input_dtable, plan.input_ids, d.d_resid, N, D,
                            plan.host.input.frozen_row);
    be.embedding_backward(m.grad(m.embed_offset()), ws.tokens, d.d_resid, N, D);
    device_plan_backward(m, plan);
  }
};

}  // namespace

double forward_backward(Transformer& model, const Batch& batch, Workspace& ws,
                        uint64_t dropout_key) {
  model.grads_buffer();  // allocated before the plan points into it
  const std::vector<int32_t> rows = weighted_rows(batch);
  check_targets(batch, rows, model.config().vocab_size);
  Pass pass(model, batch, ws);
  pass.forward(rows, true, dropout_key);
  const double loss = pass.cross_entropy(rows);
  pass.backward(int(rows.size()));
  return loss;
}

double loss(Transformer& model, const Batch& batch, Workspace& ws) {
  const std::vector<int32_t> rows = weighted_rows(batch);
  check_targets(batch, rows, model.config().vocab_size);
  Pass pass(model, batch, ws);
  pass.forward(rows, false, 0);
  return pass.cross_entropy(rows);
}

void logits(Transformer& model, const Batch& batch, const std::vector<int32_t>& rows,
            std::vector<float>& out, Workspace& ws) {
  Pass pass(model, batch, ws);
  pass.forward(rows, false, 0);
  out = download(model.backend(), ws.logits, rows.size() * size_t(model.config().vocab_size));
}

std::vector<float> score(Transformer& model, const Batch& batch, Workspace& ws) {
  const int V = model.config().vocab_size;
  const std::vector<int32_t> rows = all_rows(batch);
  check_targets(batch, rows, V);
  Pass pass(model, batch, ws);
  pass.forward(rows, false, 0);
  model.backend().log_softmax(ws.logits, int(rows.size()), V);
  const std::vector<float> lp = download(model.backend(), ws.logits, rows.size() * size_t(V));
  std::vector<float> out(rows.size());
  for (size_t n = 0; n < rows.size(); ++n) out[n] = lp[n * V + batch.targets[n]];
  return out;
}

AttentionProbs capture_attention(Transformer& model, const Batch& batch, Workspace& ws) {
  const ModelConfig& c = model.config();
  AttentionProbs probs{c.n_layers, batch.B, c.n_heads, batch.T, {}};
  const size_t n = size_t(probs.L) * probs.B * probs.H * probs.T * probs.T;
  Buffer captured(model.backend(), n * sizeof(float));
  Pass pass(model, batch, ws);
  pass.forward({}, false, 0, captured.f32());
  probs.values = download(model.backend(), captured.f32(), n);
  return probs;
}

std::span<const float> AttentionProbs::row(int layer, int batch_row, int head, int query) const {
  if (layer < 0 || layer >= L || batch_row < 0 || batch_row >= B || head < 0 || head >= H ||
      query < 0 || query >= T)
    fail("attention row (layer {}, row {}, head {}, query {}) outside [{}, {}, {}, {}]", layer,
         batch_row, head, query, L, B, H, T);
  const size_t at = (((size_t(layer) * B + batch_row) * H + head) * T + query) * T;
  return {values.data() + at, size_t(query) + 1};
}

}  // namespace lengen
