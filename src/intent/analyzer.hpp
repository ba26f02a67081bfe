#pragma once
// Intent analysis: request text (+ the canvas, when there is one) -> IntentFrame.
// The classifier decides the intent; the catalog matcher, the parameter
// extractor and the canvas decide components, target and numbers.

#include <cstddef>
#include <string_view>
#include <vector>

#include "intent/catalog_matcher.hpp"
#include "intent/classifier.hpp"
#include "model/canvas.hpp"
#include "model/catalog.hpp"
#include "model/error.hpp"
#include "model/intent_frame.hpp"

namespace ymy::intent {

inline constexpr std::size_t kMaxRequestBytes = 8 * 1024;

// Rejects what no analysis can use: empty text, more than kMaxRequestBytes,
// invalid UTF-8. The message says which and where.
Result<void> validateRequestText(std::string_view text);

// Which canvas node a request or catalog component refers to.
struct NodeMatch {
  const CanvasNode* node = nullptr;
  std::string component;  // catalog id of that node, "" when unknown
};

class IntentAnalyzer {
 public:
  // Both must outlive the analyzer. Thread-safe after construction.
  IntentAnalyzer(const Catalog& catalog, const IntentClassifier& classifier);

  // `reading`, when given, receives the tokens and mentions of `text`.
  Result<IntentFrame> analyze(std::string_view text, const Canvas* canvas = nullptr, Reading* reading = nullptr) const;

  // The catalog component a canvas node stands for: by node id, a
  // `config.component` field, its label and id words, or its type.
  std::string componentOfNode(const CanvasNode& node) const;
  // The canvas node that realises a catalog component, or nullptr.
  const CanvasNode* nodeForComponent(const Canvas& canvas, std::string_view componentId) const;

  const Catalog& catalog() const { return catalog_; }
  const CatalogMatcher& matcher() const { return matcher_; }

 private:
  const Catalog& catalog_;
  const IntentClassifier& classifier_;
  CatalogMatcher matcher_;
};

// Complexity in [0,1] from the intent, how many components it touches and the
// numbers it must meet; the router sends < 0.7 to the static path.
double estimateComplexity(const IntentFrame& frame, std::size_t canvasNodes);

}  // namespace ymy::intent
