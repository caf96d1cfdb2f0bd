// Runs the built `lengen` binary as a user would, for the CLI tests (test_cli.cpp) and the
// end-to-end flows (test_e2e_flows.cpp): the command line goes through /bin/sh (so arguments
// may be quoted), stdout and stderr come back together, and a death by a signal is told apart
// from an exit status.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "test_paths.h"

namespace lengen::testing {

struct CliResult {
  int code = -1;    // exit status; -1 when the process died of a signal
  int signal = 0;   // the signal that killed it (0: it exited)
  std::string out;  // stdout + stderr

  // A crash or an escaped exception: what no user input may cause.
  bool crashed() const {
    return signal != 0 || out.find("internal error") != std::string::npos ||
           out.find("[json.exception") != std::string::npos;
  }
  // For assertion messages: how it ended and what it printed.
  std::string describe() const {
    return (signal ? "killed by signal " + std::to_string(signal) : "exit " + std::to_string(code)) +
           "; output:\n" + out;
  }
};

// `lengen ARGS` in `cwd` (default: the test's working directory); `env` is prefixed to the
// command (e.g. "OMP_NUM_THREADS=1").
inline CliResult run_lengen(const std::string& args, const std::string& cwd = "",
                            const std::string& env = "") {
  std::string cmd;
  if (!cwd.empty()) cmd += "cd '" + cwd + "' && ";
  // exec: the shell is replaced, so a signal reaches the status as a signal, not as 128 + n.
  cmd += "exec " + (env.empty() ? "" : "env " + env + " ") + std::string(lengen_binary()) + " " + args +
         " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CliResult r;
  if (!p) {
    r.out = "popen failed";
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
    // A shell that did not exec reports a signal as 128 + n.
    if (r.code > 128 && r.code < 128 + 65) r.signal = r.code - 128, r.code = -1;
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace lengen::testing
