// A learned table whose rows are added to the token vectors, x[t] += table[ids[t]], and its
// backward: shared by abs_learned (ids = positions) and abacus (ids = digit significance).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "model/params.h"
#include "pe/positional_encoding.h"
#include "util/error.h"

namespace lengen {

// x [n, D] += table[ids[t]] (table [rows, D]; ids checked by the caller).
inline void table_rows_add_forward(const float* table, const int32_t* ids, int n, int D, float* x) {
#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t) {
    const float* row = table + size_t(ids[t]) * D;
    float* out = x + size_t(t) * D;
    for (int d = 0; d < D; ++d) out[d] += row[d];
  }
}

// dtable[ids[t]] += dx[t]. Parallel over columns: tokens with equal ids never race.
inline void table_rows_add_backward(float* dtable, const int32_t* ids, int n, int D, const float* dx) {
#pragma omp parallel for schedule(static)
  for (int d = 0; d < D; ++d)
    for (int t = 0; t < n; ++t) dtable[size_t(ids[t]) * D + d] += dx[size_t(t) * D + d];
}

// The encoding that is one such table [rows, D]: subclasses pick the id stream and word the
// error for an id outside the table (never wrapped around).
class LearnedTableEncoding : public PositionalEncoding {
 public:
  LearnedTableEncoding(std::string tensor, int d_model, int rows, float init_std)
      : tensor_(std::move(tensor)), D_(d_model), rows_(rows), init_std_(init_std) {}
  void declare_parameters(ParameterLayout& layout) override {
    offset_ = layout[layout.add(tensor_, {rows_, D_}, Init::Normal, init_std_)].offset;
  }
  bool acts_on_input() const override { return true; }
  void check_positions(const Positions& p, int n) const override {
    const int32_t* ids = table_ids(p);
    if (!ids) return;  // the stream is not given (e.g. a check of plain positions)
    for (int t = 0; t < n; ++t)
      if (ids[t] < 0 || ids[t] >= rows_) fail("{}", out_of_table(ids[t], t, rows_));
  }
  void input_forward(const float* params, const Positions& p, int n, float* x) const override {
    table_rows_add_forward(params + offset_, table_ids(p), n, D_, x);
  }
  void input_backward(const float*, const Positions& p, int n, const float* dx,
                      float* grads) const override {
    table_rows_add_backward(grads + offset_, table_ids(p), n, D_, dx);
  }

 protected:
  virtual const int32_t* table_ids(const Positions& p) const = 0;
  virtual std::string out_of_table(int id, int token, int rows) const = 0;

 private:
  std::string tensor_;
  int D_, rows_;
  float init_std_;
  size_t offset_ = 0;  // of the table in the parameter buffer
};

}  // namespace lengen
