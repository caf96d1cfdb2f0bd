// The task registry: every built-in task by its CLI name.
#include <functional>
#include <map>

#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"
#include "util/error.h"

namespace lengen::tasks {

namespace {
using Factory = std::function<std::unique_ptr<Task>()>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> tasks{
      {"addition", make_addition_task},
      {"sum", make_sum_task},
      {"parity", make_parity_task},
      {"poly", make_poly_task},
      {"sort", make_sort_task},
      {"lego", make_lego_task},
      {"copy", make_copy_task},
      {"reverse", make_reverse_task},
      {"scan", make_scan_task},
      {"pcfg", make_pcfg_task},
      {"add", make_add_task},
      {"mul", make_mul_task},
      {"even_pairs", make_even_pairs_task},
      {"parity_check", make_parity_check_task},
      {"cycle_navigation", make_cycle_navigation_task},
      {"modular_arithmetic", make_modular_arithmetic_task},
      {"reverse_string", make_reverse_string_task},
      {"duplicate_string", make_duplicate_string_task},
      {"odds_first", make_odds_first_task},
      {"bucket_sort", make_bucket_sort_task},
      {"missing_duplicate_string", make_missing_duplicate_string_task},
      {"stack_manipulation", make_stack_manipulation_task},
      {"modular_arithmetic_brackets", make_modular_arithmetic_brackets_task},
      {"solve_equation", make_solve_equation_task},
      {"binary_addition", make_binary_addition_task},
      {"binary_multiplication", make_binary_multiplication_task},
      {"compute_sqrt", make_compute_sqrt_task},
      {"divide_by_two", make_divide_by_two_task},
      {"equal_repeats", make_equal_repeats_task},
      {"missing_palindrome", make_missing_palindrome_task},
  };
  return tasks;
}
}  // namespace

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Task> make_task(const std::string& name) {
  auto it = registry().find(name);
  if (it == registry().end())
    fail("unknown task '{}'; valid tasks: {}", name, join(task_names(), ", "));
  return it->second();
}

}  // namespace lengen::tasks
