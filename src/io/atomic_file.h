// Atomic writes: the content goes to "<path>.tmp.<pid>", is flushed, then renamed over <path>,
// so a reader (or a resumed run after kill -9) sees either the old file or the new one.
#pragma once
#include <string>
#include <string_view>

namespace lengen::io {

void write_file_atomic(const std::string& path, std::string_view content);
std::string read_file(const std::string& path);  // throws lengen::Error naming the path

}  // namespace lengen::io
