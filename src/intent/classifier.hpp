#pragma once
// The intent classifier: multinomial logistic regression over word unigrams,
// word bigrams and character 3..5-grams of the tokenised request (numbers
// masked). Trained by `youmeyou train-intent` (scripts/train-intent) on the
// labelled phrasings in data/intent/, saved as a small text model file.
//
// A loaded classifier is immutable: predict() is const and thread-safe.

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/error.hpp"
#include "model/intent_frame.hpp"

namespace ymy::intent {

inline constexpr std::size_t kIntentCount = kAllIntents.size();

struct Example {
  std::string text;
  Intent label;
};

// Reads data/intent/<INTENT>.txt files: one phrasing per line.
Result<std::vector<Example>> loadDataset(const std::filesystem::path& dir);

// Deterministic split: an example is held out when a hash of its text falls in
// the last fifth, so the split never changes when lines are added elsewhere.
struct Split {
  std::vector<Example> train;
  std::vector<Example> test;
};
Split splitDataset(const std::vector<Example>& examples);

// Feature strings of a request; training and prediction share this.
std::vector<std::string> extractFeatures(std::string_view text);

struct TrainOptions {
  int epochs = 20;
  double learningRate = 0.3;
  double l2 = 1e-5;
  int minFeatureCount = 2;  // features seen in fewer training examples are dropped
  unsigned seed = 20261129;
};

struct Prediction {
  Intent intent = Intent::kAnalyze;
  double probability = 0;
  std::array<double, kIntentCount> probabilities{};
};

struct Evaluation {
  std::size_t total = 0;
  std::size_t correct = 0;
  std::array<std::array<std::size_t, kIntentCount>, kIntentCount> confusion{};  // [truth][predicted]
  std::vector<std::pair<Example, Intent>> mistakes;

  double accuracy() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0; }
  std::string report() const;  // accuracy, per-intent precision/recall, confusion matrix
};

class IntentClassifier {
 public:
  static IntentClassifier train(const std::vector<Example>& examples, const TrainOptions& options = {});
  static Result<IntentClassifier> parse(std::string_view modelText);
  static Result<IntentClassifier> load(const std::filesystem::path& path);

  std::string serialize() const;
  Result<void> save(const std::filesystem::path& path) const;

  Prediction predict(std::string_view text) const;
  Evaluation evaluate(const std::vector<Example>& examples) const;

  std::size_t featureCount() const { return index_.size(); }

 private:
  using Weights = std::array<float, kIntentCount>;
  std::unordered_map<std::string, std::size_t> index_;  // feature -> row of weights_
  std::vector<Weights> weights_;
  Weights bias_{};
};

}  // namespace ymy::intent
