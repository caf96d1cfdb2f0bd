// Factories of the built-in tasks, one per task file; registry.cpp maps names to them.
#pragma once
#include <memory>

#include "tasks/task.h"

namespace lengen::tasks {

std::unique_ptr<Task> make_addition_task();    // addition.cpp
std::unique_ptr<Task> make_sum_task();         // summation.cpp (sum mod 10)
std::unique_ptr<Task> make_parity_task();      // parity.cpp
std::unique_ptr<Task> make_poly_task();        // polynomial.cpp
std::unique_ptr<Task> make_sort_task();        // sort.cpp (single-token and multi-digit)
std::unique_ptr<Task> make_lego_task();        // lego.cpp (and _perm)
std::unique_ptr<Task> make_copy_task();        // copy_reverse.cpp
std::unique_ptr<Task> make_reverse_task();     // copy_reverse.cpp
std::unique_ptr<Task> make_scan_task();        // scan.cpp
std::unique_ptr<Task> make_pcfg_task();        // pcfg.cpp
std::unique_ptr<Task> make_add_task();         // digit_arithmetic.cpp (formats with position ids)
std::unique_ptr<Task> make_mul_task();         // digit_arithmetic.cpp
// The Chomsky-hierarchy benchmark (chomsky_common.h)
std::unique_ptr<Task> make_even_pairs_task();          // chomsky_regular.cpp
std::unique_ptr<Task> make_parity_check_task();        // chomsky_regular.cpp
std::unique_ptr<Task> make_cycle_navigation_task();    // chomsky_regular.cpp
std::unique_ptr<Task> make_modular_arithmetic_task();  // chomsky_regular.cpp
std::unique_ptr<Task> make_reverse_string_task();      // chomsky_strings.cpp
std::unique_ptr<Task> make_duplicate_string_task();    // chomsky_strings.cpp
std::unique_ptr<Task> make_odds_first_task();          // chomsky_strings.cpp
std::unique_ptr<Task> make_bucket_sort_task();         // chomsky_strings.cpp
std::unique_ptr<Task> make_missing_duplicate_string_task();  // chomsky_strings.cpp
std::unique_ptr<Task> make_stack_manipulation_task();           // chomsky_dcf.cpp
std::unique_ptr<Task> make_modular_arithmetic_brackets_task();  // chomsky_dcf.cpp
std::unique_ptr<Task> make_solve_equation_task();               // chomsky_dcf.cpp
std::unique_ptr<Task> make_binary_addition_task();              // chomsky_binary.cpp
std::unique_ptr<Task> make_binary_multiplication_task();        // chomsky_binary.cpp
std::unique_ptr<Task> make_compute_sqrt_task();                 // chomsky_binary.cpp
std::unique_ptr<Task> make_divide_by_two_task();                // chomsky_ndcf.cpp
std::unique_ptr<Task> make_equal_repeats_task();                // chomsky_ndcf.cpp
std::unique_ptr<Task> make_missing_palindrome_task();           // chomsky_ndcf.cpp

}  // namespace lengen::tasks
