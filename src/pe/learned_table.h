// A learned table whose rows are added to the token vectors, x[t] += table[ids[t]]: shared by
// abs_learned (ids = positions) and abacus (ids = digit significance). An id outside the table
// is an error, never wrapped around.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "arch/param_layout.h"
#include "pe/plan_util.h"
#include "pe/positional_encoding.h"
#include "util/error.h"

namespace lengen {

class LearnedTableEncoding : public PositionalEncoding {
 public:
  LearnedTableEncoding(std::string tensor, Stream ids, int d_model, int rows, float init_std)
      : tensor_(std::move(tensor)), ids_(ids), D_(d_model), rows_(rows), init_std_(init_std) {}
  void declare_parameters(ParameterLayout& layout) override {
    offset_ = int64_t(layout[layout.add(tensor_, {rows_, D_}, Init::Normal, init_std_)].offset);
  }
  std::vector<Stream> streams() const override { return {ids_}; }
  void check_streams(const TokenStreams& s, int n) const override {
    const int32_t* ids = s[ids_];
    if (!ids) return;  // the stream is not given (e.g. a check of plain positions)
    for (int t = 0; t < n; ++t)
      if (ids[t] < 0 || ids[t] >= rows_) fail("{}", out_of_table(ids[t], t, rows_));
  }
  void plan(const PositionView& v, const ParamAccess&, EncodingPlan& out) const override {
    plan_input_rows(v, ids_, out.input);
    out.input.table_param = offset_;
    out.input.rows = rows_;
  }

 protected:
  virtual std::string out_of_table(int id, int token, int rows) const = 0;

 private:
  std::string tensor_;
  Stream ids_;
  int D_, rows_;
  float init_std_;
  int64_t offset_ = 0;  // of the table in the parameter buffer
};

}  // namespace lengen
