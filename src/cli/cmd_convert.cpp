// lengen convert --from native|t5|llama --to native|t5|llama IN OUT: checkpoint layouts of the
// reference implementations (src/model/convert.h).
#include <fmt/core.h>

#include <memory>

#include "cli/commands.h"
#include "model/convert.h"

namespace lengen::cli {

void register_convert_commands(CLI::App& app) {
  struct Options {
    std::string from, to, in, out;
    bool allow_lossy = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "convert", "Convert a checkpoint between lengen's layout (native) and the reference "
                 "layouts: t5 (length-generalization T5) and llama (HF Llama / BiPE)");
  const auto formats = checkpoint_format_names();
  cmd->add_option("--from", o->from, "Layout of IN")->required()->check(CLI::IsMember(formats));
  cmd->add_option("--to", o->to, "Layout to write OUT in")
      ->required()
      ->check(CLI::IsMember(formats));
  cmd->add_option("IN", o->in, "Checkpoint directory to read")->required();
  cmd->add_option("OUT", o->out, "Directory to write (replaced atomically)")->required();
  cmd->add_flag("--allow-lossy", o->allow_lossy,
                "Export a model whose settings the reference code would ignore or cannot build "
                "(refused otherwise), printing what it computes differently");
  cmd->callback([o] {
    const auto from = parse_checkpoint_format(o->from), to = parse_checkpoint_format(o->to);
    std::vector<std::string> notes;
    ExportOptions options;
    options.allow_lossy = o->allow_lossy;
    convert_checkpoint(from, to, o->in, o->out, options, &notes);
    for (const auto& n : notes) fmt::print(stderr, "note: {}\n", n);
    fmt::print("wrote {} ({} layout, from {} layout {})\n", o->out, o->to, o->from, o->in);
  });
}

}  // namespace lengen::cli
