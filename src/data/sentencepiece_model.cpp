#include "data/sentencepiece_model.h"

#include <sentencepiece_processor.h>

#include "util/error.h"

namespace lengen::data {

std::unique_ptr<sentencepiece::SentencePieceProcessor> load_sentencepiece(const std::string& bytes,
                                                                         const std::string& origin) {
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  sentencepiece::util::Status status;
  try {
    status = sp->LoadFromSerializedProto(bytes);
  } catch (const std::exception& e) {
    // The library throws for some corrupt models instead of returning a status, e.g. its
    // double-array trie (darts_clone) on an empty piece: "failed to insert key: zero-length key".
    fail("{}: not a valid SentencePiece model ({})", origin, e.what());
  }
  if (!status.ok()) fail("{}: not a SentencePiece model ({})", origin, status.ToString());
  if (sp->GetPieceSize() < 2) fail("{}: SentencePiece model with an empty vocabulary", origin);
  return sp;
}

}  // namespace lengen::data
