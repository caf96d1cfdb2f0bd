// Running the built lengen executable from a test: exit status and combined output.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "test_paths.h"

namespace lengen::testing {

struct CliResult {
  int code;         // exit status (-1: killed by a signal)
  std::string out;  // stdout + stderr
};

inline CliResult run_lengen(const std::string& args) {
  const std::string cmd = std::string(lengen_binary()) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace lengen::testing
