// A built-in synthetic copy task over token ids, used by the engine demo before the full task
// suite is wired in: <bos> a1 .. an <sep> a1 .. an <eos>, symbols from a small alphabet.
#pragma once
#include <cstdint>
#include <vector>

namespace lengen {

struct CopyTaskTokens {
  static constexpr int32_t pad = 0, bos = 1, eos = 2, sep = 3, first_symbol = 4;
  int alphabet = 16;
  int vocab_size() const { return first_symbol + alphabet; }
  // Prompt (<bos> a1..an <sep>) and answer (a1..an <eos>) of example `index` of length n.
  void example(uint64_t seed, uint64_t index, int n, std::vector<int32_t>& prompt,
               std::vector<int32_t>& answer) const;
};

}  // namespace lengen
