// Linked into every lengen executable (not into a layer): OpenMP threads wait passively at
// barriers unless the user chose a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT).
//
// Why: libgomp's default spins ~300,000 iterations at every barrier before sleeping. When the
// cores are shared (a second lengen, ctest -j, any busy neighbour), a spinning thread burns the
// time slice of the one it waits for: two 2-thread test processes side by side took 4-10 s for
// what takes 0.2 s with passive waiting. On an idle machine the two are within the noise
// (README "Threads").
//
// How: libgomp reads the policy once, in its ELF constructor, before main(). Only the
// executable's pre-initialisation array runs earlier, and there the C library has not set up
// `environ` yet (setenv would start an empty environment, and the C library's start-up then
// installs the original block again). So this function reads the environment block it is
// handed and, when neither variable is set, re-executes the program once with
// OMP_WAIT_POLICY=PASSIVE appended (~0.1 s); the new image finds it set and goes on. Should
// the exec fail (no /proc), the process simply continues with libgomp's default.
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace {

constexpr char kPassive[] = "OMP_WAIT_POLICY=PASSIVE";

bool names(const char* entry, const char* name) {
  const size_t n = std::strlen(name);
  return std::strncmp(entry, name, n) == 0 && entry[n] == '=';
}

void default_to_passive_openmp_waiting(int, char** argv, char** envp) {
  size_t n = 0;
  for (; envp != nullptr && envp[n] != nullptr; ++n)
    if (names(envp[n], "OMP_WAIT_POLICY") || names(envp[n], "GOMP_SPINCOUNT")) return;
  char** env = static_cast<char**>(std::malloc((n + 2) * sizeof(char*)));
  if (env == nullptr) return;
  for (size_t i = 0; i < n; ++i) env[i] = envp[i];
  env[n] = const_cast<char*>(kPassive);
  env[n + 1] = nullptr;
  execve("/proc/self/exe", argv, env);
  std::free(env);  // the exec failed: carry on as we are
}

}  // namespace

__attribute__((section(".preinit_array"), used)) static void (*const lengen_openmp_wait_policy)(
    int, char**, char**) = default_to_passive_openmp_waiting;
