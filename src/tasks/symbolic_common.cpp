#include "tasks/symbolic_common.h"

#include <cmath>
#include <iterator>

namespace lengen::tasks::symbolic {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

bool same_words(std::string_view gold, std::string_view prediction) {
  return split_words(gold) == split_words(prediction);
}

void carve_validation(std::vector<Example>& pool, std::vector<Example>& validation, double fraction,
                      Rng& rng) {
  rng.shuffle(pool);
  // The epsilon keeps e.g. 81010 * 0.1 at 8101 whatever the rounding of 0.1.
  const auto count =
      static_cast<size_t>(std::floor(static_cast<double>(pool.size()) * fraction + 1e-9));
  validation.insert(validation.end(), std::make_move_iterator(pool.begin()),
                    std::make_move_iterator(pool.begin() + static_cast<std::ptrdiff_t>(count)));
  pool.erase(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(count));
}

}  // namespace lengen::tasks::symbolic
