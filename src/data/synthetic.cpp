#include "data/synthetic.h"

#include "util/rng.h"

namespace lengen {

void CopyTaskTokens::example(uint64_t seed, uint64_t index, int n, std::vector<int32_t>& prompt,
                             std::vector<int32_t>& answer) const {
  Rng rng(hash_combine(seed, index));
  prompt.assign(1, bos);
  answer.clear();
  for (int i = 0; i < n; ++i) {
    const int32_t s = first_symbol + int32_t(rng.below(alphabet));
    prompt.push_back(s);
    answer.push_back(s);
  }
  prompt.push_back(sep);
  answer.push_back(eos);
}

}  // namespace lengen
