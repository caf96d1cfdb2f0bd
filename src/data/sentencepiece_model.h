// Loading a SentencePiece model (Debian's libsentencepiece) from its bytes, shared by the task
// tokenizer (data/text_tokenizer.h) and the language-model tokenizer (lm/tokenizer.h). Models
// are user-downloaded files: a corrupt one is a lengen::Error naming it, never a crash.
#pragma once
#include <memory>
#include <string>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lengen::data {

// Errors name `origin`: not a SentencePiece model, or one with fewer than 2 pieces.
std::unique_ptr<sentencepiece::SentencePieceProcessor> load_sentencepiece(const std::string& bytes,
                                                                         const std::string& origin);

}  // namespace lengen::data
