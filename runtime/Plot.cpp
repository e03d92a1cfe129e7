#include "runtime/Plot.h"

#include <fmt/format.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "support/Files.h"

namespace gantry::runtime {
namespace {

// 5x7 glyphs, one string of 7 rows of 5 pixels each ('#' set). Lower-case letters are drawn as capitals.
const std::map<char, const char *> &glyphs() {
  static const std::map<char, const char *> g = {
      {'0', " ### #   ##  ### # ###  ##   # ### "}, {'1', "  #   ##    #    #    #    #   ### "},
      {'2', " ### #   #    #   #   #   #   #####"}, {'3', "#####   #   #     #     ##   # ### "},
      {'4', "   #   ##  # # #  # #####   #    # "}, {'5', "######    ####     #    ##   # ### "},
      {'6', "  ##  #   #    #### #   ##   # ### "}, {'7', "#####    #   #   #   #    #    #   "},
      {'8', " ### #   ##   # ### #   ##   # ### "}, {'9', " ### #   ##   # ####    #   #  ##  "},
      {'.', "                          ##   ##  "}, {'-', "                ###                "},
      {'/', "    #    #   #   #   #    #        "}, {'%', "##   ##  #   #   #   #   #  ##   ##"},
      {'(', "   #   #   #    #    #     #     # "}, {')', " #     #     #    #    #   #   #   "},
      {':', "      ##   ##        ##   ##       "}, {'=', "          #####     #####          "},
      {'A', " ### #   ##   #######   ##   ##   #"}, {'B', "#### #   ##   ##### #   ##   ##### "},
      {'C', " ### #   ##    #    #    #   # ### "}, {'D', "#### #   ##   ##   ##   ##   ##### "},
      {'E', "######    #    #### #    #    #####"}, {'F', "######    #    #### #    #    #    "},
      {'G', " ### #   ##    # ####   ##   # ####"}, {'H', "#   ##   ##   #######   ##   ##   #"},
      {'I', " ###   #    #    #    #    #   ### "}, {'J', "  ###   #    #    #    ##   # ##   "},
      {'K', "#   ##  # # #  ##   # #  #  # #   #"}, {'L', "#    #    #    #    #    #    #####"},
      {'M', "#   ### ### # ##   ##   ##   ##   #"}, {'N', "#   ###  ## # ##  ###   ##   ##   #"},
      {'O', " ### #   ##   ##   ##   ##   # ### "}, {'P', "#### #   ##   ##### #    #    #    "},
      {'Q', " ### #   ##   ##   ## # ##  #  ## #"}, {'R', "#### #   ##   ##### # #  #  # #   #"},
      {'S', " ####    #     ###     #    #####  "}, {'T', "#####  #    #    #    #    #    #  "},
      {'U', "#   ##   ##   ##   ##   ##   # ### "}, {'V', "#   ##   ##   ##   ##   # # #   #  "},
      {'W', "#   ##   ##   ## # ## # ## # # # # "}, {'X', "#   ##   # # #   #   # # #   ##   #"},
      {'Y', "#   ##   # # #   #    #    #    #  "}, {'Z', "#####    #   #   #   #   #    #####"},
  };
  return g;
}

Rgb mix(Rgb a, Rgb b, double t) {
  return {static_cast<uint8_t>(a.r + (b.r - a.r) * t), static_cast<uint8_t>(a.g + (b.g - a.g) * t), static_cast<uint8_t>(a.b + (b.b - a.b) * t)};
}

const Rgb kInk{40, 40, 40}, kGrey{200, 200, 200}, kBlue{31, 119, 180}, kRed{214, 39, 40}, kOrange{255, 127, 14};

}  // namespace

Canvas::Canvas(int width, int height, Rgb bg) : w_(width), h_(height), px_(static_cast<size_t>(width * height * 3)) {
  for (size_t i = 0; i < px_.size(); i += 3) {
    px_[i] = bg.r;
    px_[i + 1] = bg.g;
    px_[i + 2] = bg.b;
  }
}

void Canvas::blend(int x, int y, Rgb c, double alpha) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_ || !(alpha > 0)) return;
  uint8_t *p = &px_[static_cast<size_t>((y * w_ + x) * 3)];
  Rgb now = mix({p[0], p[1], p[2]}, c, std::min(alpha, 1.0));
  p[0] = now.r;
  p[1] = now.g;
  p[2] = now.b;
}

void Canvas::rect(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = std::max(0, y0); y <= std::min(h_ - 1, y1); ++y)
    for (int x = std::max(0, x0); x <= std::min(w_ - 1, x1); ++x) blend(x, y, c, 1.0);
}

void Canvas::frame(int x0, int y0, int x1, int y1, Rgb c) {
  rect(x0, y0, x1, y0, c);
  rect(x0, y1, x1, y1, c);
  rect(x0, y0, x0, y1, c);
  rect(x1, y0, x1, y1, c);
}

void Canvas::line(double x0, double y0, double x1, double y1, Rgb c) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  int n = static_cast<int>(std::min(4096.0, std::max(std::abs(x1 - x0), std::abs(y1 - y0)) + 1));
  for (int i = 0; i <= n; ++i) {
    double t = static_cast<double>(i) / n;
    blend(static_cast<int>(std::lround(x0 + (x1 - x0) * t)), static_cast<int>(std::lround(y0 + (y1 - y0) * t)), c, 1.0);
  }
}

void Canvas::disc(double cx, double cy, double radius, Rgb c, double alpha) {
  if (!std::isfinite(cx) || !std::isfinite(cy)) return;
  for (int y = static_cast<int>(cy - radius); y <= static_cast<int>(cy + radius) + 1; ++y)
    for (int x = static_cast<int>(cx - radius); x <= static_cast<int>(cx + radius) + 1; ++x)
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius) blend(x, y, c, alpha);
}

void Canvas::ring(double cx, double cy, double radius, Rgb c) {
  for (int i = 0; i < 64; ++i) {
    double a = 2 * M_PI * i / 64, b = 2 * M_PI * (i + 1) / 64;
    line(cx + radius * std::cos(a), cy + radius * std::sin(a), cx + radius * std::cos(b), cy + radius * std::sin(b), c);
  }
}

void Canvas::text(int x, int y, const std::string &s, Rgb c) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto it = glyphs().find(static_cast<char>(std::toupper(static_cast<unsigned char>(s[i]))));
    if (it == glyphs().end()) continue;
    for (int row = 0; row < 7; ++row)
      for (int col = 0; col < 5; ++col)
        if (it->second[row * 5 + col] == '#') blend(x + static_cast<int>(i) * 6 + col, y + row, c, 1.0);
  }
}

void Canvas::writePng(const std::string &path) const {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw FileError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    std::remove(tmp.c_str());
    throw FileError(fmt::format("cannot write '{}': PNG encoding failed", path));
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(w_), static_cast<png_uint_32>(h_), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < h_; ++y) png_write_row(png, const_cast<png_bytep>(&px_[static_cast<size_t>(y * w_ * 3)]));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(f) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw FileError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
}

Canvas samplesFigure2d(const std::vector<Panel2d> &panels, const std::vector<std::vector<double>> &modes, double extent) {
  const int size = 200, pad = 10, top = 16;
  Canvas c(static_cast<int>(panels.size()) * (size + pad) + pad, size + top + 2 * pad);
  for (size_t p = 0; p < panels.size(); ++p) {
    const int x0 = pad + static_cast<int>(p) * (size + pad), y0 = top + pad;
    c.frame(x0, y0, x0 + size, y0 + size, kGrey);
    c.text(x0, pad, fmt::format("STEP {}", panels[p].step), kInk);
    auto px = [&](double v) { return x0 + (v + extent) / (2 * extent) * size; };
    auto py = [&](double v) { return y0 + (extent - v) / (2 * extent) * size; };
    for (size_t i = 0; i + 1 < panels[p].samples.size(); i += 2) {
      double x = px(panels[p].samples[i]), y = py(panels[p].samples[i + 1]);
      if (x >= x0 + 2 && x <= x0 + size - 2 && y >= y0 + 2 && y <= y0 + size - 2) c.disc(x, y, 1.2, kBlue, 0.35);  // clipped
    }
    for (const auto &m : modes) c.ring(px(m[0]), py(m[1]), 4, kRed);
  }
  return c;
}

Canvas samplesFigure1d(const std::vector<Panel1d> &panels, double lo, double hi) {
  const int width = 260, height = 160, pad = 10, top = 16, bins = 80;
  Canvas c(static_cast<int>(panels.size()) * (width + pad) + pad, height + top + 2 * pad);
  for (size_t p = 0; p < panels.size(); ++p) {
    const Panel1d &panel = panels[p];
    const int x0 = pad + static_cast<int>(p) * (width + pad), y0 = top + pad;
    c.frame(x0, y0, x0 + width, y0 + height, kGrey);
    c.text(x0, pad, fmt::format("STEP {}", panel.step), kInk);
    // Histogram as a density, on the same vertical scale as the true density.
    std::vector<double> counts(bins, 0.0);
    for (float s : panel.samples) {
      int b = static_cast<int>((s - lo) / (hi - lo) * bins);
      if (b >= 0 && b < bins) counts[static_cast<size_t>(b)] += 1;
    }
    const double binWidth = (hi - lo) / bins;
    double peak = 1e-12;
    for (double &v : counts) peak = std::max(peak, v /= static_cast<double>(panel.samples.size()) * binWidth);
    for (double d : panel.density) peak = std::max(peak, d);
    for (int b = 0; b < bins; ++b) {
      int h = static_cast<int>(counts[static_cast<size_t>(b)] / peak * (height - 4));
      c.rect(x0 + b * width / bins, y0 + height - h, x0 + (b + 1) * width / bins - 1, y0 + height, mix(kBlue, {255, 255, 255}, 0.4));
    }
    auto px = [&](double v) { return x0 + (v - lo) / (hi - lo) * width; };
    for (size_t i = 1; i < panel.grid.size(); ++i)
      c.line(px(panel.grid[i - 1]), y0 + height - panel.density[i - 1] / peak * (height - 4), px(panel.grid[i]),
             y0 + height - panel.density[i] / peak * (height - 4), kInk);
    // D(x), scaled to the panel: where D distrusts a crowded mode, its curve dips there.
    if (!panel.critic.empty()) {
      auto [mn, mx] = std::minmax_element(panel.critic.begin(), panel.critic.end());
      double span = std::max(1e-12, *mx - *mn);
      for (size_t i = 1; i < panel.grid.size(); ++i)
        c.line(px(panel.grid[i - 1]), y0 + height - (panel.critic[i - 1] - *mn) / span * (height - 4), px(panel.grid[i]),
               y0 + height - (panel.critic[i] - *mn) / span * (height - 4), kOrange);
    }
  }
  c.text(pad, height + top + 2 * pad - 9, "BARS: SAMPLES  BLACK: DATA DENSITY  ORANGE: D(X)", kInk);
  return c;
}

Canvas curvesFigure(const std::vector<std::vector<Series>> &charts) {
  const int width = 640, height = 170, pad = 12, top = 14;
  Canvas c(width + 2 * pad + 40, static_cast<int>(charts.size()) * (height + top + pad) + pad);
  for (size_t k = 0; k < charts.size(); ++k) {
    const int x0 = pad + 40, y0 = pad + top + static_cast<int>(k) * (height + top + pad);
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (const Series &s : charts[k])
      for (size_t i = 0; i < s.x.size(); ++i)
        if (std::isfinite(s.y[i])) {
          xmin = std::min(xmin, s.x[i]);
          xmax = std::max(xmax, s.x[i]);
          ymin = std::min(ymin, s.y[i]);
          ymax = std::max(ymax, s.y[i]);
        }
    c.frame(x0, y0, x0 + width, y0 + height, kGrey);
    int labelX = x0;
    for (const Series &s : charts[k]) {
      c.rect(labelX, y0 - top + 2, labelX + 8, y0 - top + 8, s.colour);
      c.text(labelX + 12, y0 - top + 2, s.label, kInk);
      labelX += 12 + 6 * static_cast<int>(s.label.size()) + 16;
    }
    if (!std::isfinite(xmin)) continue;
    if (ymax - ymin < 1e-12) ymax = ymin + 1;
    if (xmax - xmin < 1e-12) xmax = xmin + 1;
    c.text(2, y0, fmt::format("{:.3g}", ymax), kInk);
    c.text(2, y0 + height - 7, fmt::format("{:.3g}", ymin), kInk);
    c.text(x0 + width - 6 * static_cast<int>(fmt::format("{:.0f}", xmax).size()), y0 + height + 3, fmt::format("{:.0f}", xmax), kInk);
    auto px = [&](double v) { return x0 + (v - xmin) / (xmax - xmin) * width; };
    auto py = [&](double v) { return y0 + height - (v - ymin) / (ymax - ymin) * height; };
    for (const Series &s : charts[k])
      for (size_t i = 1; i < s.x.size(); ++i)
        if (std::isfinite(s.y[i - 1]) && std::isfinite(s.y[i])) c.line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), s.colour);
  }
  return c;
}

}  // namespace gantry::runtime
