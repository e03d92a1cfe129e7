#include "runtime/Data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ir/Builder.h"
#include "support/DataFiles.h"
#include "support/Files.h"
#include "support/Npz.h"

namespace gantry::runtime {
namespace {

double attr(const ir::Module &m, const std::string &name) {
  const ir::AttrValue *v = m.attrs.find(name);
  if (!v) throw ir::IrError(fmt::format("the module has no attribute '{}'", name));
  if (const auto *d = std::get_if<double>(v)) return *d;
  if (const auto *i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  throw ir::IrError(fmt::format("module attribute '{}' must be a number", name));
}

// Each row: a mode chosen by a uniform draw (stream 2s), Gaussian noise around it (stream 2s + 1).
class Mixture : public Dataset {
 public:
  Mixture(std::vector<std::vector<double>> modes, double std) {
    modes_ = std::move(modes);
    modeStd_ = std;
    dim_ = static_cast<int64_t>(modes_[0].size());
  }
  void sample(const RandomKey &key, std::span<float> out) const override {
    const size_t rows = out.size() / static_cast<size_t>(dim_);
    std::vector<float> pick(rows), noise(out.size());
    fillUniform({key.seed, key.step, key.stream * 2}, 0.0f, 1.0f, pick);
    fillNormal({key.seed, key.step, key.stream * 2 + 1}, 0.0f, 1.0f, noise);
    for (size_t r = 0; r < rows; ++r) {
      size_t mode = std::min(modes_.size() - 1, static_cast<size_t>(pick[r] * static_cast<float>(modes_.size())));
      for (int64_t d = 0; d < dim_; ++d) {
        size_t i = r * static_cast<size_t>(dim_) + static_cast<size_t>(d);
        out[i] = static_cast<float>(modes_[mode][d] + modeStd_ * noise[i]);
      }
    }
  }
};

// A curve t -> point, t ~ U[0,1), plus isotropic noise.
class Curve : public Dataset {
 public:
  Curve(double (*x)(double, double), double (*y)(double, double), double param, double std) : x_(x), y_(y), param_(param), std_(std) { dim_ = 2; }
  void sample(const RandomKey &key, std::span<float> out) const override {
    const size_t rows = out.size() / 2;
    std::vector<float> t(rows), noise(out.size());
    fillUniform({key.seed, key.step, key.stream * 2}, 0.0f, 1.0f, t);
    fillNormal({key.seed, key.step, key.stream * 2 + 1}, 0.0f, 1.0f, noise);
    for (size_t r = 0; r < rows; ++r) {
      out[2 * r] = static_cast<float>(x_(t[r], param_) + std_ * noise[2 * r]);
      out[2 * r + 1] = static_cast<float>(y_(t[r], param_) + std_ * noise[2 * r + 1]);
    }
  }

 private:
  double (*x_)(double, double);
  double (*y_)(double, double);
  double param_, std_;
};

class Gaussian : public Dataset {
 public:
  Gaussian(int64_t dim, double mean, double std) : mean_(mean), std_(std) { dim_ = dim; }
  void sample(const RandomKey &key, std::span<float> out) const override {
    fillNormal(key, static_cast<float>(mean_), static_cast<float>(std_), out);
  }

 private:
  double mean_, std_;
};

// Rows of a file, drawn uniformly with replacement.
class Rows : public Dataset {
 public:
  Rows(std::vector<float> rows, int64_t dim, bool standardize) {
    dim_ = dim;
    const size_t width = static_cast<size_t>(dim), n = rows.size() / width;
    if (n == 0) throw FileError("the data file has no rows");
    if (standardize) {
      for (size_t d = 0; d < width; ++d) {
        double mean = 0, var = 0;
        for (size_t r = 0; r < n; ++r) mean += rows[r * width + d];
        mean /= static_cast<double>(n);
        for (size_t r = 0; r < n; ++r) var += (rows[r * width + d] - mean) * (rows[r * width + d] - mean);
        double std = std::sqrt(var / static_cast<double>(n));
        for (size_t r = 0; r < n; ++r) rows[r * width + d] = static_cast<float>((rows[r * width + d] - mean) / (std > 0 ? std : 1));
      }
    }
    // Every tenth row is held out of training for the evaluation's two-sample distance; with fewer than 20 rows
    // there is nothing to spare and both draw from all of them.
    if (n < 20) {
      training_ = heldOut_ = std::move(rows);
      return;
    }
    for (size_t r = 0; r < n; ++r) {
      std::vector<float> &to = r % 10 == 9 ? heldOut_ : training_;
      to.insert(to.end(), rows.begin() + static_cast<std::ptrdiff_t>(r * width), rows.begin() + static_cast<std::ptrdiff_t>((r + 1) * width));
    }
  }
  void sample(const RandomKey &key, std::span<float> out) const override { draw(training_, key, out); }
  void sampleHeldOut(const RandomKey &key, std::span<float> out) const override { draw(heldOut_, key, out); }

 private:
  // Rows drawn uniformly with replacement.
  void draw(const std::vector<float> &from, const RandomKey &key, std::span<float> out) const {
    const size_t width = static_cast<size_t>(dim_), rows = out.size() / width, n = from.size() / width;
    std::vector<float> pick(rows);
    fillUniform(key, 0.0f, 1.0f, pick);
    for (size_t r = 0; r < rows; ++r) {
      size_t row = std::min(n - 1, static_cast<size_t>(pick[r] * static_cast<float>(n)));
      std::copy_n(from.begin() + static_cast<std::ptrdiff_t>(row * width), width, out.begin() + static_cast<std::ptrdiff_t>(r * width));
    }
  }

  std::vector<float> training_, heldOut_;
};

}  // namespace

std::unique_ptr<Dataset> makeDataset(const ir::Module &m) {
  const ir::AttrValue *kindAttr = m.attrs.find("data");
  if (!kindAttr || !std::holds_alternative<ir::Symbol>(*kindAttr)) throw ir::IrError("the module has no data source (attribute 'data')");
  const std::string kind = std::get<ir::Symbol>(*kindAttr).name;
  const double pi = std::numbers::pi;
  if (kind == "bimodal1d") return std::make_unique<Mixture>(std::vector<std::vector<double>>{{attr(m, "data.left")}, {attr(m, "data.right")}}, attr(m, "data.std"));
  if (kind == "ring") {
    const auto modes = static_cast<int>(attr(m, "data.modes"));
    const double radius = attr(m, "data.radius");
    std::vector<std::vector<double>> centres;
    for (int k = 0; k < modes; ++k) centres.push_back({radius * std::cos(2 * pi * k / modes), radius * std::sin(2 * pi * k / modes)});
    return std::make_unique<Mixture>(centres, attr(m, "data.std"));
  }
  if (kind == "grid") {
    const auto k = static_cast<int>(attr(m, "data.k"));
    const double spacing = attr(m, "data.spacing");
    std::vector<std::vector<double>> centres;
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j) centres.push_back({(i - (k - 1) / 2.0) * spacing, (j - (k - 1) / 2.0) * spacing});
    return std::make_unique<Mixture>(centres, attr(m, "data.std"));
  }
  if (kind == "spiral")
    return std::make_unique<Curve>([](double t, double turns) { return (0.5 + 2.5 * t) * std::cos(2 * std::numbers::pi * turns * t); },
                                   [](double t, double turns) { return (0.5 + 2.5 * t) * std::sin(2 * std::numbers::pi * turns * t); },
                                   attr(m, "data.turns"), attr(m, "data.std"));
  if (kind == "swissroll")
    return std::make_unique<Curve>([](double t, double) { double a = 1.5 * std::numbers::pi * (1 + 2 * t); return a * std::cos(a) / 5; },
                                   [](double t, double) { double a = 1.5 * std::numbers::pi * (1 + 2 * t); return a * std::sin(a) / 5; },
                                   0.0, attr(m, "data.std"));
  if (kind == "normal") return std::make_unique<Gaussian>(static_cast<int64_t>(attr(m, "data.dim")), attr(m, "data.mean"), attr(m, "data.std"));
  if (kind == "csv" || kind == "npy") {
    const std::string path = std::get<std::string>(*m.attrs.find("data.path"));
    const bool standardize = std::get<bool>(*m.attrs.find("data.standardize"));
    const auto dim = static_cast<int64_t>(attr(m, "data.dim"));
    std::vector<float> rows;
    if (kind == "csv") {
      rows = parseCsvRows(readFile(path), dim, path);
    } else {
      NpyArray a = parseNpy(readFile(path), "'" + path + "'");
      for (float v : a.data)
        if (!std::isfinite(v)) throw FileError(fmt::format("'{}' holds a value that is not finite", path));
      rows = std::move(a.data);
    }
    return std::make_unique<Rows>(std::move(rows), dim, standardize);
  }
  throw ir::IrError("unknown data source '" + kind + "'");
}

void fillFromDistribution(const ir::RandomDist &dist, const RandomKey &key, std::span<float> out) {
  if (dist.kind == ir::RandomDist::Kind::Normal) {
    fillNormal(key, static_cast<float>(dist.a), static_cast<float>(dist.b), out);
  } else {
    fillUniform(key, static_cast<float>(dist.a), static_cast<float>(dist.b), out);
  }
}

}  // namespace gantry::runtime
