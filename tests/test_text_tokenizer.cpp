// The task tokenizers (data/text_tokenizer.h): word level and SentencePiece (the paper's t5-base
// tokenization, run key data.tokenizer), with a SentencePiece model trained in the test; and
// a short run that trains and evaluates through it, recording the model with the checkpoint.
#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "data/jsonl.h"
#include "data/text_tokenizer.h"
#include "file_test_support.h"
#include "io/atomic_file.h"
#include "pipeline/make_dataset.h"
#include "pipeline/run_config.h"
#include "pipeline/task_data.h"
#include "pipeline/task_run.h"
#include "model/checkpoint.h"
#include "util/sha256.h"

namespace lengen {
namespace {

using testing::error_of;
using testing::TempDir;

class Sentences final : public sentencepiece::SentenceIterator {
 public:
  explicit Sentences(const std::vector<std::string>& s) : s_(s) {}
  bool done() const override { return i_ >= s_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return s_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& s_;
  size_t i_ = 0;
};

// A small BPE model with T5's special layout (pad 0, eos 1, unk 2, no bos) and its default
// normalisation, written to `path`.
void train_model(const std::vector<std::string>& sentences, const std::string& path,
                 int vocab_size, bool with_eos = true) {
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", "bpe"},        {"vocab_size", std::to_string(vocab_size)},
      {"character_coverage", "1.0"}, {"hard_vocab_limit", "false"},
      {"num_threads", "1"},          {"minloglevel", "2"},
      {"pad_id", "0"},               {"eos_id", with_eos ? "1" : "-1"},
      {"unk_id", "2"},               {"bos_id", "-1"}};
  Sentences it(sentences);
  std::string proto;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &proto);
  ASSERT_TRUE(status.ok()) << status.ToString();
  io::write_file_atomic(path, proto);
}

// The texts the model reads in a run on `data`: prompt with separator, then the answer.
std::vector<std::string> run_texts(const tasks::Dataset& data, const std::string& separator) {
  std::vector<std::string> out;
  for (const auto* part : {&data.train, &data.validation, &data.test})
    for (const auto& e : *part) out.push_back(e.source + separator + answer_text(e));
  return out;
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first block.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(TextTokenizer, PaperSeparators) {
  for (const char* t : {"sum", "scan", "pcfg"}) EXPECT_EQ(data::paper_separator(t), "[SEP] ") << t;
  for (const char* t : {"copy", "reverse"}) EXPECT_EQ(data::paper_separator(t), " [SEP] ") << t;
  for (const char* t : {"addition", "parity", "poly", "sort", "lego", ""})
    EXPECT_EQ(data::paper_separator(t), "") << t;
}

TEST(TextTokenizer, WordLevelIsTheVocabulary) {
  const auto vocab = data::Vocabulary::build({"Copy: a b", "a b"});
  const data::WordTokenizer tok(vocab);
  const auto prompt = tok.encode_prompt("Copy: a b");
  EXPECT_EQ(prompt.front(), data::Vocabulary::kBos);
  EXPECT_EQ(prompt.back(), data::Vocabulary::kSep);
  EXPECT_EQ(tok.encode_answer("a b"), vocab.encode("a b"));
  EXPECT_EQ(tok.decode(tok.encode_answer("a b")), "a b");
  EXPECT_EQ(tok.vocab_size(), vocab.size());
  ASSERT_NE(tok.vocabulary(), nullptr);
}

class SentencePieceTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_dataset_dir({"sum", "", "", 0, 200, 40}, dir.file("data"));
    data = data::load_dataset_dir(dir.file("data")).data;
    train_model(run_texts(data, "[SEP] "), dir.file("spiece.model"), 60);
  }
  TempDir dir;
  tasks::Dataset data;
};

TEST_F(SentencePieceTokenizerTest, RoundTripSeparatorAndSpecials) {
  const auto sum = data::SentencePieceTokenizer::load(dir.file("spiece.model"), data::paper_separator("sum"));
  const auto plain = data::SentencePieceTokenizer::load(dir.file("spiece.model"), data::paper_separator("parity"));
  EXPECT_EQ(sum->pad_id(), 0);
  EXPECT_EQ(sum->eos_id(), 1);
  EXPECT_EQ(sum->sha256(), sha256_file(dir.file("spiece.model")));
  EXPECT_EQ(sum->vocabulary(), nullptr);
  for (const auto& e : data.test) {
    const auto answer = sum->encode_answer(e.target);
    EXPECT_EQ(sum->decode(answer), e.target);
    // Decoding stops at the end-of-sequence piece.
    auto generated = answer;
    generated.push_back(sum->eos_id());
    generated.push_back(answer.front());
    EXPECT_EQ(sum->decode(generated), e.target);
    EXPECT_EQ(sum->decode(sum->encode_prompt(e.source)), e.source + "[SEP]");
    EXPECT_EQ(plain->decode(plain->encode_prompt(e.source)), e.source);
  }
  // The answer's pieces are those of the joined text: the prompt ends at a space.
  const auto& e = data.train.front();
  auto joined = sum->encode_prompt(e.source);
  const auto answer = sum->encode_answer(e.target);
  joined.insert(joined.end(), answer.begin(), answer.end());
  EXPECT_EQ(sum->decode(joined), e.source + "[SEP] " + e.target);
  // Through the pipeline's encoder: prompt, answer + eos.
  const auto enc = encode_examples({e}, *sum, "train")[0];
  EXPECT_EQ(enc.answer.back(), sum->eos_id());
  EXPECT_EQ(enc.prompt, sum->encode_prompt(e.source));
}

TEST_F(SentencePieceTokenizerTest, ErrorsNameTheFileAndText) {
  const auto tok = data::SentencePieceTokenizer::load(dir.file("spiece.model"), "[SEP] ");
  std::string m = error_of([&] { tok->encode_answer("The answer is \xc3\xa9"); });
  EXPECT_NE(m.find("cannot represent"), std::string::npos) << m;
  EXPECT_NE(m.find(dir.file("spiece.model")), std::string::npos) << m;
  tasks::Example bad;
  bad.source = "Compute: \xc3\xa9 .";
  bad.target = "The answer is 1 .";
  m = error_of([&] { encode_examples({bad}, *tok, "train"); });
  EXPECT_NE(m.find("train example 0"), std::string::npos) << m;

  m = error_of([&] { data::SentencePieceTokenizer::load(dir.file("none.model"), ""); });
  EXPECT_NE(m.find("not found"), std::string::npos) << m;
  const std::string junk = dir.write("junk.model", "this is not a protobuf \x01\x02\xff");
  m = error_of([&] { data::SentencePieceTokenizer::load(junk, ""); });
  EXPECT_NE(m.find("not a SentencePiece model"), std::string::npos) << m;
  EXPECT_NE(m.find(junk), std::string::npos) << m;
  // A truncated model file: an error, not a crash.
  const std::string bytes = io::read_file(dir.file("spiece.model"));
  const std::string cut = dir.write("cut.model", bytes.substr(0, bytes.size() / 2));
  m = error_of([&] { data::SentencePieceTokenizer::load(cut, ""); });
  EXPECT_NE(m.find(cut), std::string::npos) << m;
  train_model(run_texts(data, "[SEP] "), dir.file("noeos.model"), 60, false);
  m = error_of([&] { data::SentencePieceTokenizer::load(dir.file("noeos.model"), ""); });
  EXPECT_NE(m.find("no end-of-sequence piece"), std::string::npos) << m;
}

TEST_F(SentencePieceTokenizerTest, ShortRunTrainsEvaluatesAndRecordsTheModel) {
  nlohmann::json j = load_run_config_json("models/tiny", {});
  j["data"] = {{"dir", dir.file("data")}, {"tokenizer", dir.file("spiece.model")}};
  j["model"]["d_model"] = 32;
  j["model"]["n_heads"] = 2;
  j["model"]["d_head"] = 16;
  j["model"]["d_ff"] = 64;
  j["train"]["steps"] = 4;
  j["train"]["batch_size"] = 8;
  j["train"]["eval_every"] = 2;
  j["train"]["checkpoint_every"] = 2;
  j["train"]["log_every"] = 1;
  j["eval"]["validation_examples"] = 8;
  j["eval"]["max_per_length"] = 2;
  j["eval"]["extra_tokens"] = 4;
  const std::string run = dir.file("run");
  TaskRunOptions o;
  o.quiet = true;
  const nlohmann::json s = run_task(run, RunConfig::from_json(j, "test"), o);
  ASSERT_TRUE(s.contains("id_accuracy")) << s.dump();
  ASSERT_TRUE(s.contains("ood_accuracy")) << s.dump();
  EXPECT_EQ(s["test"]["total"], 16);  // 8 lengths x 2
  // Predictions are decoded text, scored by the task's checker.
  std::ifstream preds(run + "/eval/test/predictions.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(preds, line)) {
    const auto p = nlohmann::json::parse(line);
    EXPECT_TRUE(p["prediction"].is_string());
    EXPECT_EQ(p["gold"].get<std::string>().rfind("The answer is", 0), 0u);
    ++lines;
  }
  EXPECT_EQ(lines, 16);
  // The checkpoint records the model: path and sha256, not a word vocabulary.
  const auto rec = data::read_tokenizer_record(run + "/checkpoint");
  ASSERT_FALSE(rec.is_null());
  EXPECT_EQ(rec["type"], "sentencepiece");
  EXPECT_EQ(rec["sha256"], sha256_file(dir.file("spiece.model")));
  EXPECT_EQ(rec["separator"], "[SEP] ");
  EXPECT_FALSE(std::filesystem::exists(run + "/checkpoint/vocab.json"));
  EXPECT_EQ(read_json_file(run + "/config.json")["data"]["tokenizer"], dir.file("spiece.model"));

  // Another model file at the same path: evaluation refuses it.
  train_model(run_texts(data, "[SEP] "), dir.file("spiece.model"), 50);
  EvalRequest r;
  r.run_dir = run;
  r.quiet = true;
  std::string m = error_of([&] { evaluate_run(r); });
  EXPECT_NE(m.find("not the one the checkpoint was trained with"), std::string::npos) << m;
  // Without data.tokenizer the checkpoint's record is named.
  nlohmann::json config = read_json_file(run + "/config.json");
  config["data"].erase("tokenizer");
  io::write_file_atomic(run + "/config.json", config.dump(2));
  m = error_of([&] { evaluate_run(r); });
  EXPECT_NE(m.find("no data.tokenizer"), std::string::npos) << m;
}

}  // namespace
}  // namespace lengen
