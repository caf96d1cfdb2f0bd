// lengen: one executable, subcommands registered by src/cli/cmd_*.cpp.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/cpu/thread_budget.h"
#include "cli/commands.h"
#include "util/error.h"

int main(int argc, char** argv) {
  // Threads without --threads: the CPUs this process may use (backend/cpu/thread_budget.h).
  lengen::apply_default_thread_budget();
  CLI::App app{"lengen: positional encodings and length generalization in transformers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", LENGEN_VERSION);
  // The compute device of every model the command creates (backend/backend.h); accepted before
  // or after the subcommand.
  app.add_option_function<std::string>(
         "--device", [](const std::string& name) { lengen::set_default_backend(name); },
         "Compute device (" + fmt::format("{}", fmt::join(lengen::backend_names(), ", ")) +
             "; default cpu)")
      ->trigger_on_parse();
  // The linear layers' precision (backend/backend.h): bf16 on CPUs with AVX512-BF16.
  app.add_option_function<std::string>(
         "--precision",
         [](const std::string& name) {
           lengen::set_default_matmul_precision(lengen::parse_matmul_precision(name));
         },
         "Linear layers: fp32 (default) or bf16 (bf16 inputs, fp32 accumulation; CPUs with "
         "AVX512-BF16)")
      ->trigger_on_parse();
  app.fallthrough();
  lengen::cli::register_model_commands(app);
  lengen::cli::register_train_commands(app);
  lengen::cli::register_data_commands(app);
  lengen::cli::register_pipeline_commands(app);
  lengen::cli::register_bench_commands(app);
  lengen::cli::register_convert_commands(app);
  lengen::cli::register_debug_commands(app);
  lengen::cli::register_lm_commands(app);
  lengen::cli::register_analyze_commands(app);
  lengen::cli::register_sweep_commands(app);
  // Command-line mistakes (a missing required option, an unknown flag, a bad value) are
  // errors like any other: "lengen: error: ..." and exit status 1; --help and --version exit 0.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("lengen: error: {}\nRun the command with --help for its options.\n", e.what());
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  } catch (const lengen::Error& e) {
    fmt::print(stderr, "lengen: error: {}\n", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the system refuses (too long, no permission, disk full): the user's to fix.
    fmt::print(stderr, "lengen: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    // Sizes read from files are bounded by the files; this is a config too large for the
    // machine's memory (or a genuine shortage).
    fmt::print(stderr, "lengen: error: out of memory (are the config's sizes, batch or sequence "
                       "lengths too large for this machine?)\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "lengen: internal error: {}\n", e.what());
    return 2;
  }
  return 0;
}
