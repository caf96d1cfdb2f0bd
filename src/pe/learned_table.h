// A learned table whose rows are added to the token vectors, x[t] += table[ids[t]], and its
// backward: shared by abs_learned (ids = positions) and abacus (ids = digit significance).
#pragma once
#include <cstddef>
#include <cstdint>

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

}  // namespace lengen
