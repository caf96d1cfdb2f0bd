#include "report/gnuplot.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.h"

extern char** environ;

namespace lengen::report::detail {
namespace {

constexpr const char* kInstallHint =
    "gnuplot not found on PATH: install the Debian package gnuplot-nox "
    "(apt-get install gnuplot-nox) to draw plots";

// Closes a file descriptor once; -1 means already closed.
struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// gnuplot's messages, trimmed for an error message.
std::string tidy(const std::string& messages) {
  std::string out;
  size_t start = 0;
  while (start < messages.size()) {
    size_t end = messages.find('\n', start);
    if (end == std::string::npos) end = messages.size();
    std::string line = messages.substr(start, end - start);
    const size_t b = line.find_first_not_of(" \t\r^");
    if (b != std::string::npos) {
      if (!out.empty()) out += "; ";
      out += line.substr(b);
    }
    start = end + 1;
  }
  return out.size() > 2000 ? out.substr(0, 2000) + "..." : out;
}

}  // namespace

std::optional<std::string> find_gnuplot() {
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(start, colon - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/gnuplot";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  return std::nullopt;
}

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "''";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out + "'";
}

void run_gnuplot(const std::string& script, const std::string& output, const std::string& what) {
  const auto exe = find_gnuplot();
  if (!exe) fail("cannot draw {}: {}", what, kInstallHint);

  // stdin is a socket rather than a pipe so that send(MSG_NOSIGNAL) reports a gnuplot that died
  // early as EPIPE instead of raising SIGPIPE in the caller's process.
  int sv[2], out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    fail("cannot draw {}: socketpair: {}", what, std::strerror(errno));
  Fd in_parent{sv[0]}, in_child{sv[1]};
  if (::pipe2(out, O_CLOEXEC) != 0) fail("cannot draw {}: pipe: {}", what, std::strerror(errno));
  Fd out_parent{out[0]}, out_child{out[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_child.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_child.fd, 2);
  char* argv[] = {const_cast<char*>("gnuplot"), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe->c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("cannot draw {}: cannot run {}: {}", what, *exe, std::strerror(rc));
  in_child.reset();
  out_child.reset();

  // Feed the script and collect gnuplot's messages at the same time, so neither side can
  // block on a full buffer.
  std::string messages;
  size_t sent = 0;
  bool writing = true;
  char buf[4096];
  for (;;) {
    pollfd fds[2] = {{out_parent.fd, POLLIN, 0}, {in_parent.fd, POLLOUT, 0}};
    if (::poll(fds, writing ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (writing && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::send(in_parent.fd, script.data() + sent, script.size() - sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += size_t(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == script.size()) {
        in_parent.reset();  // EOF (or gnuplot is gone): it finishes the script and exits
        writing = false;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(out_parent.fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (messages.size() < 65536) messages.append(buf, size_t(n));
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || sent != script.size()) {
    ::unlink(output.c_str());
    fail("gnuplot failed to draw {} (exit status {}): {}", what,
         WIFEXITED(status) ? WEXITSTATUS(status) : -1, tidy(messages));
  }
}

}  // namespace lengen::report::detail
