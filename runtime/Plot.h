// A small plotting module for the training pictures (PNG through libpng): an RGB canvas with points, lines,
// rectangles and a 5x7 pixel font for numbers and short labels, and the three figures `gantry run` draws:
//   samples.png   a strip of scatter plots of G's samples at evaluations, the true mode centres marked (2-D data);
//                 for 1-D data, histograms of the samples over the true density with D(x) on the same axis
//   curves.png    the losses and the mode metrics over the run
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gantry::runtime {

struct Rgb {
  uint8_t r, g, b;
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return w_; }
  int height() const { return h_; }
  void blend(int x, int y, Rgb c, double alpha);  // alpha-blend one pixel (ignored outside)
  void rect(int x0, int y0, int x1, int y1, Rgb c);
  void frame(int x0, int y0, int x1, int y1, Rgb c);
  void line(double x0, double y0, double x1, double y1, Rgb c);
  void disc(double x, double y, double radius, Rgb c, double alpha = 1.0);
  void ring(double x, double y, double radius, Rgb c);
  void text(int x, int y, const std::string &s, Rgb c);  // 5x7 glyphs, 6 px apart; unknown characters are blank
  // Writes atomically; throws FileError.
  void writePng(const std::string &path) const;

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

struct Panel2d {
  int64_t step = 0;
  std::vector<float> samples;  // rows of 2
};
struct Panel1d {
  int64_t step = 0;
  std::vector<float> samples;
  std::vector<double> grid, density, critic;  // x positions, true density, D(x) (any scale: drawn normalised)
};

// `modes` are the true mode centres (may be empty); `extent` the half-width of the square shown.
Canvas samplesFigure2d(const std::vector<Panel2d> &panels, const std::vector<std::vector<double>> &modes, double extent);
Canvas samplesFigure1d(const std::vector<Panel1d> &panels, double lo, double hi);

struct Series {
  std::string label;
  std::vector<double> x, y;  // NaN y values are skipped
  Rgb colour;
};
// One chart per group of series, stacked vertically.
Canvas curvesFigure(const std::vector<std::vector<Series>> &charts);

}  // namespace gantry::runtime
