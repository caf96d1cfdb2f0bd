// Each subcommand group registers itself on the top-level CLI11 app. A new command = one file
// in src/cli/ with one register function, plus one line in main.cpp.
#pragma once
#include <CLI/CLI.hpp>

namespace lengen::cli {

void register_model_commands(CLI::App& app);  // init, score          (cmd_model.cpp)
void register_train_commands(CLI::App& app);  // train-lm, demo       (cmd_train.cpp)
void register_data_commands(CLI::App& app);   // data make, data show (cmd_data.cpp)
void register_bench_commands(CLI::App& app);  // bench train          (cmd_bench.cpp)
void register_pipeline_commands(CLI::App& app);  // train, eval, compare (cmd_pipeline.cpp)
void register_convert_commands(CLI::App& app);   // convert              (cmd_convert.cpp)
void register_debug_commands(CLI::App& app);  // debug step, generate (cmd_debug.cpp)
void register_lm_commands(CLI::App& app);     // lm data|train|eval|compare (cmd_lm.cpp)
void register_analyze_commands(CLI::App& app);  // analyze ...          (cmd_analyze.cpp)
void register_sweep_commands(CLI::App& app);  // sweep run|run-one|list|slurm, report (cmd_sweep.cpp)

// Sets the OpenMP (and so the OpenMP-built BLAS) thread count; 0 keeps the default.
void apply_thread_count(int threads);

}  // namespace lengen::cli
