// lengen: one executable, subcommands registered by src/cli/cmd_*.cpp.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>

#include <fmt/core.h>

#include "cli/commands.h"
#include "util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"lengen: positional encodings and length generalization in transformers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", LENGEN_VERSION);
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
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
