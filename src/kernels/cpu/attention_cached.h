// Causal attention of a block of new queries against a key/value cache (inference only: it
// has no backward; the training path is attention_forward/backward in kernels.h). Lets a long
// sequence be processed block by block with memory O(block x length) per head instead of the
// O(length^2) probability matrix of the full forward.
#pragma once

namespace lengen::kernels {

// One (row, head): the cache holds `past` earlier tokens followed by the Q new ones, so query a
// (cache index past + a) sees keys 0..past+a.
//   q    [Q, ld]         this head's dh columns at q (ld = row stride)
//   k, v [past + Q, ld]  this head's dh columns
//   bias [Q, past + Q]   added to the scaled scores, or null
//   out  [Q, ld]         this head's dh columns
//   scratch [Q * (past + Q)]
void attention_cached_forward(float* out, const float* q, const float* k, const float* v,
                              const float* bias, int Q, int past, int dh, int ld, float scale,
                              float* scratch);

}  // namespace lengen::kernels
