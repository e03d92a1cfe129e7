#include "runtime/Sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "runtime/Metrics.h"
#include "runtime/Trainer.h"
#include "support/Files.h"

namespace gantry::runtime {

SweepAxis parseSweepAxis(const std::string &text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw std::invalid_argument(fmt::format("'{}' is not KEY=VALUE[,VALUE...]", text));
  SweepAxis axis{text.substr(0, eq), {}};
  std::string rest = text.substr(eq + 1);
  size_t start = 0;
  while (true) {
    size_t comma = rest.find(',', start);
    std::string value = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (value.empty()) throw std::invalid_argument(fmt::format("'{}' has an empty value", text));
    axis.values.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return axis;
}

MeanError meanError(const std::vector<double> &values) {
  std::vector<double> finite;
  for (double v : values)
    if (std::isfinite(v)) finite.push_back(v);
  MeanError r;
  r.count = finite.size();
  if (finite.empty()) return r;
  for (double v : finite) r.mean += v;
  const double n = static_cast<double>(finite.size());
  r.mean /= n;
  if (finite.size() < 2) return r;
  double ss = 0;
  for (double v : finite) ss += (v - r.mean) * (v - r.mean);
  r.error = std::sqrt(ss / (n - 1)) / std::sqrt(n);
  return r;
}

std::string meanAndError(const std::vector<double> &values, int decimals) {
  MeanError m = meanError(values);
  if (m.count == 0) return "—";
  if (m.count == 1) return fmt::format("{:.{}f}", m.mean, decimals);
  return fmt::format("{:.{}f} ± {:.{}f}", m.mean, decimals, m.error, decimals);
}

namespace {

struct Row {
  std::vector<std::string> settings;  // one value per axis
  std::vector<RunSummary> runs;       // one per seed that finished
  int failed = 0;                     // runs stopped by a non-finite value
};

struct RowStats {
  std::vector<double> modes, quality, kl, energy, rate;
  double compile = 0;  // the slowest: the first run compiles, later ones may hit the cache
};

RowStats statsOf(const Row &row) {
  RowStats st;
  for (const RunSummary &r : row.runs) {
    if (r.hasModes) {
      st.modes.push_back(static_cast<double>(r.modesCaptured));
      st.quality.push_back(100 * r.highQuality);
      st.kl.push_back(r.reverseKl);
    } else {
      st.energy.push_back(r.energyDistance);
    }
    st.rate.push_back(r.stepsPerSecond);
    st.compile = std::max(st.compile, r.compileSeconds);
  }
  return st;
}

// The table a person reads: "mean ± standard error" cells.
std::string markdownTable(const std::vector<SweepAxis> &axes, const std::vector<Row> &rows) {
  // The mode columns for mixtures, the energy distance for other data: only those some row has.
  bool anyModes = false, anyEnergy = false;
  for (const Row &row : rows)
    for (const RunSummary &r : row.runs) (r.hasModes ? anyModes : anyEnergy) = true;
  if (!anyModes && !anyEnergy) anyModes = anyEnergy = true;  // nothing finished yet: show every column
  std::vector<std::string> header;
  for (const SweepAxis &a : axes) header.push_back(a.key);
  header.push_back("runs");
  if (anyModes) header.insert(header.end(), {"modes captured", "high quality %", "reverse KL"});
  if (anyEnergy) header.push_back("energy distance");
  header.insert(header.end(), {"steps/s", "compile s"});
  std::string text = "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n|";
  for (size_t i = 0; i < header.size(); ++i) text += " --- |";
  text += "\n";
  for (const Row &row : rows) {
    RowStats st = statsOf(row);
    std::vector<std::string> line = row.settings;
    line.push_back(row.failed ? fmt::format("{} ({} diverged)", row.runs.size(), row.failed) : fmt::format("{}", row.runs.size()));
    std::string captured = meanAndError(st.modes, 1);
    if (!st.modes.empty()) captured += fmt::format(" of {}", row.runs[0].modes);
    if (anyModes) line.insert(line.end(), {captured, meanAndError(st.quality, 1), meanAndError(st.kl, 3)});
    if (anyEnergy) line.push_back(meanAndError(st.energy, 4));
    line.insert(line.end(), {meanAndError(st.rate, 0), row.runs.empty() ? "—" : fmt::format("{:.2f}", st.compile)});
    text += "| " + fmt::format("{}", fmt::join(line, " | ")) + " |\n";
  }
  return text;
}

// The table a script reads: one number per cell, means and standard errors in their own columns.
std::string csvTable(const std::vector<SweepAxis> &axes, const std::vector<Row> &rows) {
  auto quote = [](const std::string &s) { return s.find_first_of(",\"") == std::string::npos ? s : "\"" + s + "\""; };
  auto number = [](double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); };
  std::string text;
  for (const SweepAxis &a : axes) text += quote(a.key) + ",";
  text += "runs,diverged,modes,modes_captured,modes_captured_se,high_quality_percent,high_quality_percent_se,reverse_kl,"
          "reverse_kl_se,energy_distance,energy_distance_se,steps_per_second,steps_per_second_se,compile_seconds\n";
  for (const Row &row : rows) {
    RowStats st = statsOf(row);
    for (const std::string &v : row.settings) text += quote(v) + ",";
    text += fmt::format("{},{},{}", row.runs.size(), row.failed, st.modes.empty() ? std::string() : fmt::format("{}", row.runs[0].modes));
    for (const auto *values : {&st.modes, &st.quality, &st.kl, &st.energy, &st.rate}) {
      MeanError m = meanError(*values);
      text += "," + (m.count ? number(m.mean) : std::string()) + "," + (m.count > 1 ? number(m.error) : std::string());
    }
    text += "," + (row.runs.empty() ? std::string() : number(st.compile)) + "\n";
  }
  return text;
}

}  // namespace

int sweep(const std::function<ir::Module(const std::vector<std::string> &overrides)> &compile, const std::string &name,
          const SweepOptions &options) {
  const std::string dir = options.outDir.empty() ? defaultRunDir(name + "-sweep") : options.outDir;

  // Every combination of the axes' values, the first axis slowest.
  size_t combinations = 1;
  for (const SweepAxis &a : options.axes) combinations *= a.values.size();
  std::vector<Row> rows(combinations);
  std::vector<std::vector<std::string>> overrides(combinations);
  for (size_t c = 0; c < combinations; ++c) {
    size_t rest = c;
    for (size_t k = options.axes.size(); k-- > 0;) {
      const SweepAxis &a = options.axes[k];
      const std::string &value = a.values[rest % a.values.size()];
      rest /= a.values.size();
      rows[c].settings.insert(rows[c].settings.begin(), value);
      overrides[c].insert(overrides[c].begin(), a.key + "=" + value);
    }
  }
  // Compile every combination first: a bad value is reported before hours of training.
  std::vector<ir::Module> modules;
  for (const auto &o : overrides) modules.push_back(compile(o));
  makeDirectories(dir);

  // The tables are rewritten after every run, so an interrupted sweep keeps what it finished.
  auto writeTables = [&] {
    writeFileAtomically(dir + "/sweep.md", markdownTable(options.axes, rows));
    writeFileAtomically(dir + "/sweep.csv", csvTable(options.axes, rows));
  };
  const size_t total = combinations * options.seeds.size();
  size_t done = 0;
  int status = 0;
  for (size_t c = 0; c < combinations; ++c) {
    for (uint64_t seed : options.seeds) {
      std::string label;
      for (const std::string &o : overrides[c]) label += o + " ";
      label += fmt::format("seed={}", seed);
      std::string folder;
      for (const std::string &o : overrides[c]) folder += o + "-";
      folder += fmt::format("seed{}", seed);
      RunSummary summary;
      RunOptions run;
      run.steps = options.steps;
      run.seed = seed;
      run.outDir = dir + "/" + folder;
      run.quiet = true;
      run.progressBar = !options.quiet;
      run.summary = &summary;
      if (!options.quiet) {
        fmt::print("[{}/{}] {}\n", ++done, total, label);
        std::fflush(stdout);  // one line per run as it starts, also into a log file
      }
      int code = train(modules[c], name, run);
      if (code == 130) {
        if (!options.quiet) fmt::print("  interrupted; the runs so far are in {}/sweep.md\n", dir);
        return 130;
      }
      if (code != 0) {
        rows[c].failed++;
        status = 1;
        if (!options.quiet) fmt::print("  stopped on a non-finite value (see {})\n", run.outDir);
        writeTables();
        continue;
      }
      rows[c].runs.push_back(summary);
      writeTables();
      if (!options.quiet) {
        if (summary.hasModes) {
          fmt::print("  modes {}/{}  high quality {:.1f}%  reverse KL {}  {:.0f} steps/s\n", summary.modesCaptured, summary.modes,
                     100 * summary.highQuality, reverseKlText(summary.reverseKl), summary.stepsPerSecond);
        } else {
          fmt::print("  energy distance {:.4f}  {:.0f} steps/s\n", summary.energyDistance, summary.stepsPerSecond);
        }
        std::fflush(stdout);
      }
    }
  }
  writeTables();
  if (!options.quiet) fmt::print("\n{}\n(mean ± standard error over seeds {}; table in {}/sweep.md and sweep.csv)\n", markdownTable(options.axes, rows),
                                 fmt::join(options.seeds, ","), dir);
  return status;
}

}  // namespace gantry::runtime
