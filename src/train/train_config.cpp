#include "train/train_config.h"

#include "util/error.h"
#include "util/json_parse.h"

namespace lengen {
namespace {

// Strict: no bool -> int, no 3.5 -> 3, no wrap of values beyond T's range.
template <typename T>
T number(const nlohmann::json& v, const std::string& where, const std::string& key) {
  return json_value_as<T>(v, where, key);
}

}  // namespace

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: the train config must be a JSON object", where);
  TrainConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    if (k == "steps") c.steps = number<int64_t>(v, where, k);
    else if (k == "batch_size") c.batch_size = number<int>(v, where, k);
    else if (k == "seq_len") c.seq_len = number<int>(v, where, k);
    else if (k == "seed") c.seed = number<uint64_t>(v, where, k);
    else if (k == "lr") c.optim.lr = number<float>(v, where, k);
    else if (k == "beta1") c.optim.beta1 = number<float>(v, where, k);
    else if (k == "beta2") c.optim.beta2 = number<float>(v, where, k);
    else if (k == "eps") c.optim.eps = number<float>(v, where, k);
    else if (k == "weight_decay") c.optim.weight_decay = number<float>(v, where, k);
    else if (k == "grad_clip") c.optim.grad_clip = number<float>(v, where, k);
    else if (k == "lr_scaling") {
      if (!v.is_string() || (v.get<std::string>() != "none" && v.get<std::string>() != "init_std"))
        fail("{}: key 'lr_scaling' has value {}; allowed values: none, init_std", where, v.dump());
      c.optim.lr_scale_by_init = v.get<std::string>() == "init_std";
    }
    else if (k == "no_decay") {
      if (!v.is_array()) fail("{}: key 'no_decay' must be a list of name substrings", where);
      c.optim.no_decay.clear();
      for (const auto& s : v) {
        if (!s.is_string()) fail("{}: key 'no_decay' must hold strings", where);
        c.optim.no_decay.push_back(s.get<std::string>());
      }
    } else if (k == "schedule") {
      static const char* kinds[] = {"constant", "linear", "polynomial", "cosine"};
      bool ok = false;
      for (const char* kind : kinds) ok = ok || (v.is_string() && v.get<std::string>() == kind);
      if (!ok)
        fail("{}: key 'schedule' has value {}; allowed values: constant, linear, polynomial, cosine",
             where, v.dump());
      c.schedule.kind = v.get<std::string>();
    } else if (k == "warmup_steps") c.schedule.warmup_steps = number<int64_t>(v, where, k);
    else if (k == "warmup_fraction") c.schedule.warmup_fraction = number<double>(v, where, k);
    else if (k == "end_lr") c.schedule.end_lr = number<float>(v, where, k);
    else if (k == "power") c.schedule.power = number<float>(v, where, k);
    else if (k == "log_every") c.log_every = number<int>(v, where, k);
    else if (k == "checkpoint_every") c.checkpoint_every = number<int>(v, where, k);
    else if (k == "eval_every") c.eval_every = number<int>(v, where, k);
    else if (k == "eval_batches") c.eval_batches = number<int>(v, where, k);
    else
      fail("{}: unknown key '{}'; allowed keys: steps, batch_size, seq_len, seed, lr, beta1, beta2, "
           "eps, weight_decay, no_decay, grad_clip, lr_scaling, schedule, warmup_steps, warmup_fraction, "
           "end_lr, power, log_every, checkpoint_every, eval_every, eval_batches",
           where, k);
  }
  if (c.steps <= 0) fail("{}: key 'steps' must be positive", where);
  if (c.batch_size <= 0) fail("{}: key 'batch_size' must be positive", where);
  if (c.seq_len <= 1) fail("{}: key 'seq_len' must be at least 2", where);
  if (!(c.optim.lr > 0)) fail("{}: key 'lr' must be > 0", where);
  if (c.log_every <= 0) fail("{}: key 'log_every' must be positive", where);
  if (c.checkpoint_every < 0) fail("{}: key 'checkpoint_every' must be >= 0", where);
  if (c.schedule.warmup_fraction < 0 || c.schedule.warmup_fraction >= 1)
    fail("{}: key 'warmup_fraction' must be in [0, 1)", where);
  return c;
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j = {{"steps", steps},
          {"batch_size", batch_size},
          {"seq_len", seq_len},
          {"seed", seed},
          {"lr", optim.lr},
          {"beta1", optim.beta1},
          {"beta2", optim.beta2},
          {"eps", optim.eps},
          {"weight_decay", optim.weight_decay},
          {"no_decay", optim.no_decay},
          {"grad_clip", optim.grad_clip},
          {"schedule", schedule.kind},
          {"warmup_steps", schedule.warmup_steps},
          {"warmup_fraction", schedule.warmup_fraction},
          {"end_lr", schedule.end_lr},
          {"power", schedule.power},
          {"log_every", log_every},
          {"checkpoint_every", checkpoint_every},
          {"eval_every", eval_every},
          {"eval_batches", eval_batches}};
  // Only when on, so that the recorded config of runs made before the key existed still matches.
  if (optim.lr_scale_by_init) j["lr_scaling"] = "init_std";
  return j;
}

}  // namespace lengen
