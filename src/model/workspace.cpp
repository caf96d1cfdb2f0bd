#include "model/workspace.h"

#include "model/arena.h"

namespace lengen {

Workspace::Workspace(const Transformer& model)
    : backend_(model.backend()), config_(model.config()) {}

void Workspace::prepare(int B, int Q, int M, Mode mode) {
  const ModelConfig& c = config_;
  const size_t N = size_t(B) * Q, D = c.d_model, HD = c.hd(), F = c.d_ff, V = c.vocab_size;
  const bool training = mode == Mode::Training;
  const int slots = training ? c.n_layers : 1;
  const bool gated = c.gated_ffn();
  auto lay_out = [&](Carver& at) {
    blocks_.assign(size_t(slots), BlockActs{});
    for (BlockActs& a : blocks_) {
      a.resid_in = at.take<float>(N * D);
      a.ln1 = at.take<float>(N * D);
      a.ln1_mean = at.take<float>(N);
      a.ln1_rstd = at.take<float>(N);
      a.q = at.take<float>(N * HD);
      a.k = at.take<float>(N * HD);
      a.v = at.take<float>(N * HD);
      a.att = at.take<float>(N * HD);
      a.lse = training ? at.take<float>(size_t(B) * c.n_heads * Q) : nullptr;
      a.resid_mid = at.take<float>(N * D);
      a.ln2 = at.take<float>(N * D);
      a.ln2_mean = at.take<float>(N);
      a.ln2_rstd = at.take<float>(N);
      a.ffn_a = at.take<float>(N * F);
      a.ffn_b = gated ? at.take<float>(N * F) : nullptr;
      a.ffn_h = at.take<float>(N * F);
    }
    resid_out_ = training ? at.take<float>(N * D) : nullptr;
    lnf = at.take<float>(N * D);
    lnf_mean = at.take<float>(N);
    lnf_rstd = at.take<float>(N);
    branch = at.take<float>(N * D);
    head_in = at.take<float>(size_t(M) * D);
    logits = at.take<float>(size_t(M) * V);
    tokens = at.take<int32_t>(N);
    rows = at.take<int32_t>(size_t(M));
    targets = at.take<int32_t>(size_t(M));
    weights = at.take<float>(size_t(M));
    d = BackwardScratch{};
    if (!training) return;
    d.d_head = at.take<float>(size_t(M) * D);
    for (float** p : {&d.d_lnf, &d.d_resid, &d.d_branch, &d.d_norm}) *p = at.take<float>(N * D);
    for (float** p : {&d.d_h, &d.d_a}) *p = at.take<float>(N * F);
    d.d_b = gated ? at.take<float>(N * F) : nullptr;
    for (float** p : {&d.d_att, &d.dq, &d.dk, &d.dv}) *p = at.take<float>(N * HD);
  };
  Carver size;
  lay_out(size);
  if (size.used() > arena_.bytes()) {
    arena_ = Buffer();  // free the old one first: the peak is the new size alone
    arena_ = Buffer(backend_, size.used());
  }
  Carver at(arena_.data());
  lay_out(at);
  mode_ = mode;
}

}  // namespace lengen
