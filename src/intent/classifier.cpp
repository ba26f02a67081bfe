#include "intent/classifier.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <unordered_set>

#include "intent/params.hpp"
#include "intent/text.hpp"

namespace ymy::intent {

namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

template <class Weights>
void softmax(const Weights& scores, std::array<double, kIntentCount>& out) {
  double maxScore = scores[0];
  for (auto s : scores) maxScore = std::max<double>(maxScore, s);
  double sum = 0;
  for (std::size_t k = 0; k < kIntentCount; ++k) {
    out[k] = std::exp(static_cast<double>(scores[k]) - maxScore);
    sum += out[k];
  }
  for (auto& p : out) p /= sum;
}

}  // namespace

Result<std::vector<Example>> loadDataset(const std::filesystem::path& dir) {
  std::vector<Example> examples;
  for (Intent intent : kAllIntents) {
    auto path = dir / (std::string(intentName(intent)) + ".txt");
    std::ifstream in(path);
    if (!in) return fail(ErrorCode::kNotFound, "dataset file '" + path.string() + "' cannot be read");
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      examples.push_back({line, intent});
    }
  }
  return examples;
}

Split splitDataset(const std::vector<Example>& examples) {
  Split split;
  for (const auto& e : examples) {
    (fnv1a(e.text) % 5 == 0 ? split.test : split.train).push_back(e);
  }
  return split;
}

std::vector<std::string> extractFeatures(std::string_view text) {
  auto tokens = tokenize(text);
  std::vector<std::string> features;
  features.reserve(tokens.size() * 14 + 2);
  std::string prev = "<s>";
  for (const auto& t : tokens) {
    features.push_back("u:" + t.stem);
    features.push_back("b:" + prev + " " + t.stem);
    prev = t.stem;
    if (t.kind != Token::Kind::kWord) continue;
    std::string word = "^" + t.text.substr(0, 24) + "$";
    for (std::size_t n = 3; n <= 5; ++n) {
      for (std::size_t i = 0; i + n <= word.size(); ++i) features.push_back("c:" + word.substr(i, n));
    }
  }
  features.push_back("b:" + prev + " </s>");
  // What kind of numbers the request states: a load target reads as scaling,
  // a latency bound as optimisation, whatever the words around them.
  auto params = extractParams(tokens);
  if (params.rps) features.push_back("p:rate");
  if (params.users) features.push_back("p:users");
  if (params.latencyMs) features.push_back("p:latency");
  if (params.connections) features.push_back("p:connections");
  if (params.availability) features.push_back("p:availability");
  if (text.find('?') != std::string_view::npos) features.push_back("p:question");
  // The leading words carry the speech act ("remove ...", "how many ...",
  // "can you add ..."): mark the first words past politeness fillers.
  static const std::unordered_set<std::string> kFillers = {"please", "pls", "can", "could", "would", "you", "we",
                                                           "i", "need", "to", "want", "like", "d", "let", "s",
                                                           "ok", "so", "hey", "hi", "just", "also", "lets", "id"};
  std::size_t lead = 0;
  for (const auto& t : tokens) {
    if (kFillers.count(t.text)) continue;
    features.push_back("l" + std::to_string(lead) + ":" + t.stem);
    if (++lead == 2) break;
  }
  return features;
}

IntentClassifier IntentClassifier::train(const std::vector<Example>& examples, const TrainOptions& options) {
  // Vocabulary: features present in at least minFeatureCount examples.
  std::vector<std::vector<std::string>> featureSets;
  featureSets.reserve(examples.size());
  std::unordered_map<std::string, int> documentCount;
  for (const auto& e : examples) {
    auto f = extractFeatures(e.text);
    std::sort(f.begin(), f.end());
    f.erase(std::unique(f.begin(), f.end()), f.end());
    for (const auto& s : f) ++documentCount[s];
    featureSets.push_back(std::move(f));
  }
  std::vector<std::string> vocabulary;
  for (const auto& [feature, count] : documentCount) {
    if (count >= options.minFeatureCount) vocabulary.push_back(feature);
  }
  std::sort(vocabulary.begin(), vocabulary.end());  // deterministic row order

  IntentClassifier model;
  model.weights_.assign(vocabulary.size(), Weights{});
  for (std::size_t i = 0; i < vocabulary.size(); ++i) model.index_.emplace(vocabulary[i], i);

  std::vector<std::vector<std::size_t>> rows(examples.size());
  for (std::size_t e = 0; e < examples.size(); ++e) {
    for (const auto& f : featureSets[e]) {
      auto it = model.index_.find(f);
      if (it != model.index_.end()) rows[e].push_back(it->second);
    }
  }

  // SGD on the cross-entropy loss; L2 applied to the rows an example touches.
  // Features are binary, so each example's score is a sum of its rows; the
  // step is scaled by 1/sqrt(row count) to keep long requests from dominating.
  std::vector<std::size_t> order(examples.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 rng(options.seed);
  std::array<double, kIntentCount> probs{};
  std::vector<std::array<double, kIntentCount>> averaged(model.weights_.size());
  std::array<double, kIntentCount> averagedBias{};
  int averagedCount = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) {  // Fisher-Yates with our own draw: stable everywhere
      std::size_t j = rng() % i;
      std::swap(order[i - 1], order[j]);
    }
    double rate = options.learningRate / (1.0 + 0.15 * epoch);
    for (std::size_t e : order) {
      const auto& row = rows[e];
      Weights scores = model.bias_;
      for (auto r : row) {
        for (std::size_t k = 0; k < kIntentCount; ++k) scores[k] += model.weights_[r][k];
      }
      softmax(scores, probs);
      auto label = static_cast<std::size_t>(examples[e].label);
      double scale = rate / std::sqrt(static_cast<double>(std::max<std::size_t>(row.size(), 1)));
      for (std::size_t k = 0; k < kIntentCount; ++k) {
        double gradient = probs[k] - (k == label ? 1.0 : 0.0);
        model.bias_[k] -= static_cast<float>(rate * 0.1 * gradient);
        for (auto r : row) {
          auto& w = model.weights_[r][k];
          w -= static_cast<float>(scale * (gradient + options.l2 * w));
        }
      }
    }
    if (epoch >= options.epochs / 2) {
      ++averagedCount;
      for (std::size_t i = 0; i < model.weights_.size(); ++i) {
        for (std::size_t k = 0; k < kIntentCount; ++k) averaged[i][k] += model.weights_[i][k];
      }
      for (std::size_t k = 0; k < kIntentCount; ++k) averagedBias[k] += model.bias_[k];
    }
  }

  // Averaged weights (the mean of the per-epoch snapshots of the second half)
  // generalise better than the last iterate of SGD.
  if (averagedCount > 0) {
    for (std::size_t i = 0; i < model.weights_.size(); ++i) {
      for (std::size_t k = 0; k < kIntentCount; ++k) {
        model.weights_[i][k] = static_cast<float>(averaged[i][k] / averagedCount);
      }
    }
    for (std::size_t k = 0; k < kIntentCount; ++k) model.bias_[k] = static_cast<float>(averagedBias[k] / averagedCount);
  }

  // Drop rows that ended near zero: they change no prediction and bloat the file.
  IntentClassifier pruned;
  pruned.bias_ = model.bias_;
  for (std::size_t i = 0; i < vocabulary.size(); ++i) {
    const auto& w = model.weights_[i];
    bool useful = std::any_of(w.begin(), w.end(), [](float v) { return std::fabs(v) >= 1e-3f; });
    if (!useful) continue;
    pruned.index_.emplace(vocabulary[i], pruned.weights_.size());
    pruned.weights_.push_back(w);
  }
  return pruned;
}

Prediction IntentClassifier::predict(std::string_view text) const {
  Weights scores = bias_;
  auto features = extractFeatures(text);
  std::sort(features.begin(), features.end());
  features.erase(std::unique(features.begin(), features.end()), features.end());
  for (const auto& f : features) {
    auto it = index_.find(f);
    if (it == index_.end()) continue;
    const auto& w = weights_[it->second];
    for (std::size_t k = 0; k < kIntentCount; ++k) scores[k] += w[k];
  }
  Prediction p;
  softmax(scores, p.probabilities);
  std::size_t best = 0;
  for (std::size_t k = 1; k < kIntentCount; ++k) {
    if (p.probabilities[k] > p.probabilities[best]) best = k;
  }
  p.intent = kAllIntents[best];
  p.probability = p.probabilities[best];
  return p;
}

Evaluation IntentClassifier::evaluate(const std::vector<Example>& examples) const {
  Evaluation ev;
  for (const auto& e : examples) {
    auto p = predict(e.text);
    ++ev.total;
    ++ev.confusion[static_cast<std::size_t>(e.label)][static_cast<std::size_t>(p.intent)];
    if (p.intent == e.label) {
      ++ev.correct;
    } else {
      ev.mistakes.push_back({e, p.intent});
    }
  }
  return ev;
}

std::string Evaluation::report() const {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  out << "accuracy " << accuracy() * 100 << "% (" << correct << "/" << total << ")\n";
  out << std::left << std::setw(20) << "intent" << std::right << std::setw(10) << "precision"
      << std::setw(8) << "recall" << std::setw(6) << "n" << "\n";
  for (std::size_t k = 0; k < kIntentCount; ++k) {
    std::size_t truth = 0, predicted = 0;
    for (std::size_t j = 0; j < kIntentCount; ++j) {
      truth += confusion[k][j];
      predicted += confusion[j][k];
    }
    double precision = predicted ? 100.0 * static_cast<double>(confusion[k][k]) / static_cast<double>(predicted) : 0;
    double recall = truth ? 100.0 * static_cast<double>(confusion[k][k]) / static_cast<double>(truth) : 0;
    out << std::left << std::setw(20) << intentName(kAllIntents[k]) << std::right << std::setw(10)
        << precision << std::setw(8) << recall << std::setw(6) << truth << "\n";
  }
  out << "confusion (rows: truth, columns: predicted, in the order above)\n";
  for (std::size_t k = 0; k < kIntentCount; ++k) {
    for (std::size_t j = 0; j < kIntentCount; ++j) out << std::setw(5) << confusion[k][j];
    out << "\n";
  }
  return out.str();
}

std::string IntentClassifier::serialize() const {
  std::ostringstream out;
  out << "# youmeyou intent classifier: multinomial logistic regression over word, bigram and\n"
      << "# character n-gram features (intent/classifier.hpp). Made by scripts/train-intent.\n";
  out << "format 1\nclasses";
  for (Intent i : kAllIntents) out << ' ' << intentName(i);
  out << "\nbias";
  char buf[32];
  for (float b : bias_) {
    auto r = std::to_chars(buf, buf + sizeof buf, b, std::chars_format::general, 5);
    out << ' ' << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
  }
  out << "\n";
  std::vector<std::pair<std::string_view, std::size_t>> rows(index_.begin(), index_.end());
  std::sort(rows.begin(), rows.end());
  for (const auto& [feature, row] : rows) {
    out << feature << '\t';
    for (std::size_t k = 0; k < kIntentCount; ++k) {
      auto r = std::to_chars(buf, buf + sizeof buf, weights_[row][k], std::chars_format::general, 4);
      out << (k ? " " : "") << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
    }
    out << '\n';
  }
  return out.str();
}

Result<void> IntentClassifier::save(const std::filesystem::path& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return fail(ErrorCode::kIo, "cannot write model file '" + path.string() + "'");
  out << serialize();
  if (!out.flush()) return fail(ErrorCode::kIo, "cannot write model file '" + path.string() + "'");
  return {};
}

Result<IntentClassifier> IntentClassifier::parse(std::string_view text) {
  IntentClassifier model;
  std::size_t lineNo = 0;
  bool sawFormat = false, sawClasses = false, sawBias = false;
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument, "intent model line " + std::to_string(lineNo) + ": " + why);
  };
  auto parseFloats = [](std::string_view s, float* out, std::size_t count) {
    const char* p = s.data();
    const char* end = s.data() + s.size();
    for (std::size_t k = 0; k < count; ++k) {
      while (p < end && *p == ' ') ++p;
      auto r = std::from_chars(p, end, out[k]);
      if (r.ec != std::errc() || !std::isfinite(out[k])) return false;
      p = r.ptr;
    }
    while (p < end && *p == ' ') ++p;
    return p == end;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++lineNo;
    if (line.empty() || line[0] == '#') continue;
    if (!sawFormat) {
      if (line != "format 1") return bad("expected 'format 1'");
      sawFormat = true;
    } else if (!sawClasses) {
      std::string expected = "classes";
      for (Intent i : kAllIntents) expected += " " + std::string(intentName(i));
      if (line != expected) return bad("classes differ from this build's intents");
      sawClasses = true;
    } else if (!sawBias) {
      if (!line.starts_with("bias ") || !parseFloats(line.substr(5), model.bias_.data(), kIntentCount)) {
        return bad("expected 'bias' and 7 numbers");
      }
      sawBias = true;
    } else {
      auto tab = line.find('\t');
      if (tab == std::string_view::npos || tab == 0) return bad("expected 'feature<TAB>weights'");
      Weights w{};
      if (!parseFloats(line.substr(tab + 1), w.data(), kIntentCount)) return bad("expected 7 weights");
      if (!model.index_.emplace(std::string(line.substr(0, tab)), model.weights_.size()).second) {
        return bad("duplicate feature");
      }
      model.weights_.push_back(w);
    }
  }
  if (!sawBias) return fail(ErrorCode::kInvalidArgument, "intent model is incomplete (no header or bias)");
  return model;
}

Result<IntentClassifier> IntentClassifier::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "intent model '" + path.string() + "' cannot be read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  auto model = parse(buffer.str());
  if (!model) {
    return fail(model.error().code, path.string() + ": " + model.error().message);
  }
  return model;
}

}  // namespace ymy::intent
