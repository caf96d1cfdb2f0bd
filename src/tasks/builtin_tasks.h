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

}  // namespace lengen::tasks
