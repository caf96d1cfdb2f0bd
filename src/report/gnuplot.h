// Running gnuplot as a subprocess (internal to src/report/).
#pragma once
#include <optional>
#include <string>

namespace lengen::report::detail {

std::optional<std::string> find_gnuplot();  // full path of "gnuplot" on PATH

// gnuplot string literal: single quotes (no backslash escapes), ' doubled, newlines flattened.
std::string quote(const std::string& text);

// Pipes `script` into gnuplot; on a non-zero exit throws lengen::Error with `what` and
// gnuplot's messages. `output` is the file the script writes; it is removed on failure.
void run_gnuplot(const std::string& script, const std::string& output, const std::string& what);

}  // namespace lengen::report::detail
