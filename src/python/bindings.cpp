// lengen._core: the library for Python; python/lengen/__init__.py is the API users import.
// Structured values cross as JSON text (the Python side json.loads it: the same documents the
// CLI writes); tensors cross as buffers that numpy.asarray reads without a copy. Long calls
// release the GIL; progress callbacks take it back, and an exception they raise (Ctrl-C
// included) stops the run, which resumes from its last checkpoint when called again.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include <omp.h>

#include "backend/cpu/thread_budget.h"
#include "data/tokenizer.h"
#include "io/tensor_file.h"
#include "model/batch.h"
#include "model/checkpoint.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/transformer.h"
#include "pe/positional_encoding.h"
#include "pipeline/compare.h"
#include "pipeline/make_dataset.h"
#include "pipeline/run_config.h"
#include "pipeline/task_run.h"
#include "sweep/grid.h"
#include "sweep/runner.h"
#include "util/error.h"

namespace py = pybind11;

namespace lengen {
namespace {

// A float32 tensor owned by C++ and lent to numpy through the buffer protocol: `values`, or a
// view at `offset` into a `shared` buffer (the weights: one host copy, every tensor a view).
struct FloatTensor {
  std::vector<float> values;
  std::vector<py::ssize_t> shape;
  std::shared_ptr<std::vector<float>> shared;
  size_t offset = 0;
  float* data() { return shared ? shared->data() + offset : values.data(); }
};

py::buffer_info tensor_buffer(FloatTensor& t) {
  std::vector<py::ssize_t> strides(t.shape.size());
  py::ssize_t stride = sizeof(float);
  for (size_t i = t.shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= t.shape[i];
  }
  return py::buffer_info(t.data(), sizeof(float), py::format_descriptor<float>::format(),
                         py::ssize_t(t.shape.size()), t.shape, strides);
}

// Runs `work` without the GIL.
template <typename F>
auto without_gil(F&& work) {
  py::gil_scoped_release release;
  return work();
}

std::string make_dataset(const std::string& task, const std::string& split, const std::string& out,
                         int64_t train_size, int64_t test_size, uint64_t seed,
                         const std::string& scratchpad, const std::string& from) {
  DatasetRequest r;
  r.task = task;
  r.split = split;
  r.train_size = train_size;
  r.test_size = test_size;
  r.seed = seed;
  r.scratchpad = scratchpad;
  r.from = from;
  return without_gil([&] { return make_dataset_dir(r, out).to_json().dump(); });
}

std::string train(const std::string& out, const std::string& config,
                  const std::vector<std::string>& sets, bool evaluate, bool quiet,
                  const py::object& progress) {
  const RunConfig rc = RunConfig::from_json(load_run_config_json(config, sets),
                                            "the run config of config='" + config + "' and sets");
  TaskRunOptions o;
  o.quiet = quiet;
  o.evaluate = evaluate;
  if (!progress.is_none()) {
    o.on_progress = [progress](int64_t step, int64_t total, double loss, double tokens_per_s) {
      py::gil_scoped_acquire gil;
      progress(step, total, loss, tokens_per_s);
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    };
  }
  return without_gil([&] { return run_task(out, rc, o).dump(); });
}

std::string evaluate(const std::string& run, const std::vector<std::string>& splits,
                     const std::string& checkpoint, const std::string& data, int max_per_length,
                     const std::vector<std::string>& model_overrides, bool quiet) {
  EvalRequest e;
  e.run_dir = run;
  e.splits = splits;
  e.checkpoint = checkpoint;
  e.data_dir = data;
  e.max_per_length = max_per_length;
  e.model_overrides = model_overrides;
  e.quiet = quiet;
  return without_gil([&] { return evaluate_run(e).dump(); });
}

std::string compare(const std::string& task, const std::string& split,
                    const std::vector<std::string>& encodings, const std::vector<uint64_t>& seeds,
                    const std::string& preset, const std::string& config,
                    const std::vector<std::string>& sets, const std::string& out, int jobs,
                    bool quiet) {
  CompareOptions o;
  o.task = task;
  o.split = split;
  o.encodings = encodings;
  o.seeds = seeds;
  o.preset = preset;
  o.config = config;
  o.sets = sets;
  o.out = out;
  o.jobs = jobs;
  o.quiet = quiet;
  const CompareReport r = without_gil([&] { return run_compare(o); });
  return nlohmann::json{{"table_text", r.table_text}, {"report_dir", r.report_dir},
                        {"summary", r.summary}, {"curves_text", r.curves_text},
                        {"budget_note", r.budget_note}}
      .dump();
}

std::string sweep_run(const std::string& file, int jobs, int threads, const std::string& out,
                      bool quiet) {
  const sweep::SweepFile s = sweep::load_sweep_file(file);
  sweep::SweepRunOptions o;
  o.jobs = jobs;
  o.threads = threads;
  o.out = out;
  o.quiet = quiet;
  const auto summary = without_gil([&] { return sweep::run_sweep(s, sweep::expand_grid(s), o); });
  return nlohmann::json{{"total", summary.total}, {"skipped", summary.skipped},
                        {"succeeded", summary.succeeded}, {"failed", summary.failed},
                        {"failures", summary.failures}}
      .dump();
}

// A checkpoint loaded for scoring, decoding and attention maps (dropout off: inference).
class Model {
 public:
  explicit Model(const std::string& checkpoint) : model_(load_model(checkpoint, true)) {}
  // A new model from model config keys (vocab_size included), initialised from `seed`.
  static Model create(const std::string& config_json, uint64_t seed) {
    const ModelConfig config = model_config_from_json(nlohmann::json::parse(config_json), "the model config");
    Model m;
    m.model_ = std::make_unique<Transformer>(config);
    m.model_->init_weights(seed);
    return m;
  }
  void save(const std::string& dir) const { without_gil([&] { save_model(dir, *model_); }); }

  // Every parameter tensor by checkpoint name: views into one host copy of the weights.
  std::vector<std::pair<std::string, FloatTensor>> weights() const {
    auto host = std::make_shared<std::vector<float>>(model_->params_to_host());
    std::vector<std::pair<std::string, FloatTensor>> out;
    for (const TensorSpec& spec : model_->layout().tensors()) {
      FloatTensor t;
      t.shared = host;
      t.offset = spec.offset;
      t.shape.assign(spec.shape.begin(), spec.shape.end());
      out.emplace_back(spec.name, std::move(t));
    }
    return out;
  }

  std::string config_json() const { return model_->config().to_json().dump(); }
  int64_t num_parameters() const { return model_->num_parameters(); }

  // Log-probability of each token after the first, [rows, longest - 1] (0 past a row's end).
  FloatTensor score_rows(const std::vector<std::vector<int32_t>>& rows) {
    check_rows(rows, 2, "score");
    const Batch batch = make_batch(rows, 0);
    const std::vector<float> lp = without_gil([&] {
      Workspace ws(*model_);
      return score(*model_, batch, ws);
    });
    FloatTensor t;
    t.shape = {py::ssize_t(rows.size()), py::ssize_t(batch.T - 1)};
    t.values.assign(size_t(t.shape[0] * t.shape[1]), 0.0f);
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t i = 0; i + 1 < rows[r].size(); ++i)
        t.values[r * size_t(batch.T - 1) + i] = lp[r * size_t(batch.T) + i];
    return t;
  }

  std::vector<std::vector<int32_t>> generate(const std::vector<std::vector<int32_t>>& prompts,
                                             int max_new, int eos) {
    check_rows(prompts, 1, "generate");
    if (max_new < 1) fail("generate: max_new must be at least 1, got {}", max_new);
    if (eos >= model_->config().vocab_size)
      fail("generate: eos {} is outside the vocabulary of {}", eos, model_->config().vocab_size);
    return without_gil([&] { return greedy_decode(*model_, prompts, max_new, eos); });
  }

  // Attention probabilities [layers, rows, heads, T, T] (zero above the diagonal and past a
  // row's length).
  FloatTensor attention(const std::vector<std::vector<int32_t>>& rows) {
    check_rows(rows, 1, "attention");
    const Batch batch = make_batch(rows, 0);
    AttentionProbs p = without_gil([&] {
      Workspace ws(*model_);
      return capture_attention(*model_, batch, ws);
    });
    FloatTensor t;
    t.shape = {p.L, p.B, p.H, p.T, p.T};
    t.values.assign(size_t(p.L) * p.B * p.H * p.T * p.T, 0.0f);
    for (int l = 0; l < p.L; ++l)
      for (int b = 0; b < p.B; ++b)
        for (int h = 0; h < p.H; ++h)
          for (int q = 0; q < int(rows[size_t(b)].size()); ++q) {
            const auto row = p.row(l, b, h, q);
            float* dst = t.values.data() + ((((size_t(l) * p.B + b) * p.H + h) * p.T + q) * p.T);
            std::copy(row.begin(), row.end(), dst);
          }
    return t;
  }

 private:
  Model() = default;
  void check_rows(const std::vector<std::vector<int32_t>>& rows, size_t min_len,
                  const char* what) const {
    if (rows.empty()) fail("{}: no sequences given", what);
    const int V = model_->config().vocab_size;
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].size() < min_len)
        fail("{}: sequence {} has {} tokens, needs at least {}", what, r, rows[r].size(), min_len);
      for (int32_t id : rows[r])
        if (id < 0 || id >= V) fail("{}: sequence {} has token id {} outside the vocabulary of {}", what, r, id, V);
    }
  }
  std::unique_ptr<Transformer> model_;
};

}  // namespace
}  // namespace lengen

PYBIND11_MODULE(_core, m) {
  using namespace lengen;
  m.doc() = "lengen's C++ library (use the lengen package, not this module directly)";
  py::register_exception<Error>(m, "Error", PyExc_ValueError);
  // The thread count of the command line's default (backend/cpu/thread_budget.h).
  apply_default_thread_budget();

  py::class_<FloatTensor>(m, "FloatTensor", py::buffer_protocol())
      .def_buffer(&tensor_buffer)
      .def_property_readonly("shape", [](const FloatTensor& t) { return t.shape; });

  // A run's word-level vocabulary (vocab.json): lengen's own splitting rules, strict encoding.
  py::class_<data::Vocabulary>(m, "Vocabulary")
      .def_static("load", &data::Vocabulary::load)
      .def("words", &data::Vocabulary::words)
      .def("encode", [](const data::Vocabulary& v, const std::string& text) { return v.encode(text); })
      .def("decode", &data::Vocabulary::decode, py::arg("ids"), py::arg("skip_specials") = true);

  m.def("version", [] { return std::string(LENGEN_VERSION); });
  m.def("set_threads", [](int n) {
    if (n < 1) fail("set_threads: need at least 1 thread, got {}", n);
    omp_set_num_threads(n);
  });
  m.def("threads", [] { return omp_get_max_threads(); });
  m.def("thread_budget", [] {
    const ThreadBudget b = system_thread_budget();
    return py::make_tuple(b.threads, b.reason);
  });
  m.def("presets", &preset_names);
  m.def("config_json", [](const std::string& config, const std::vector<std::string>& sets) {
    return load_run_config_json(config, sets).dump();
  });
  m.def("make_dataset", &make_dataset);
  m.def("train", &train);
  m.def("evaluate", &evaluate);
  m.def("compare", &compare);
  m.def("sweep_run", &sweep_run);

  py::class_<Model>(m, "Model")
      .def(py::init<const std::string&>())
      .def_static("create", &Model::create)
      .def("save", &Model::save)
      .def("weights", &Model::weights)
      .def("config_json", &Model::config_json)
      .def("num_parameters", &Model::num_parameters)
      .def("score", &Model::score_rows)
      .def("generate", &Model::generate)
      .def("attention", &Model::attention);
}
