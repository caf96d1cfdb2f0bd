// Loading a checkpoint under changed model settings that add or remove no parameter, chiefly
// RoPE context extension at evaluation time: `pe.scaling=yarn`, `pe.scaling_factor=4`,
// `pe.original_max_positions=1024` (a leading "model." is accepted). The weights must still
// match the rebuilt layout exactly, so an override that changes the parameters is an error
// naming the tensor.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace lengen {

ModelConfig model_config_with_overrides(const std::string& checkpoint_dir,
                                        const std::vector<std::string>& overrides);
std::unique_ptr<Transformer> load_model_with_overrides(const std::string& checkpoint_dir,
                                                       const std::vector<std::string>& overrides);

}  // namespace lengen
