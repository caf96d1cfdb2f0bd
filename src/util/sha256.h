// SHA-256 (FIPS 180-4) of bytes and files, as lowercase hex: provenance of imported data and
// the identity of a tokenizer model recorded with checkpoints.
#pragma once
#include <string>
#include <string_view>

namespace lengen {

std::string sha256_hex(std::string_view bytes);
// Reads the file in chunks; throws lengen::Error naming the path when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace lengen
