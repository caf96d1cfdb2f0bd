// Figures for the study's reports (accuracy / perplexity vs length, attention heatmaps,
// efficiency curves), drawn by gnuplot. The data is inlined in the script piped to gnuplot,
// and the image is written atomically (gnuplot writes "<path>.tmp.<pid>", then it is renamed).
// The format comes from the extension: ".png" (pngcairo, else gd's png) or ".svg".
// Without gnuplot on PATH these throw lengen::Error naming the Debian package to install.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace lengen::report {

struct Series {
  std::string label;
  std::vector<double> x, y;           // non-finite x or y: a gap in the line
  std::vector<double> y_low, y_high;  // optional error band (both empty = none)
};

struct LinePlot {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  std::optional<double> ymin, ymax;  // axis range (default: automatic)
  bool log_y = false;
  std::optional<double> marker_x;  // a dashed vertical line, e.g. the longest training length
  std::string marker_label;        // e.g. "longest training length"
  int width = 900, height = 540;
};

void write_line_plot(const LinePlot& plot, const std::string& path);

struct Heatmap {
  std::string title, xlabel, ylabel;
  int rows = 0, cols = 0;
  std::vector<double> values;  // row-major; row 0 is drawn at the top (query 0 of attention)
  std::vector<std::string> row_labels, col_labels;  // optional tick labels (empty = indices)
  std::optional<double> zmin, zmax;  // colour range (default: the values' range)
  int width = 720, height = 640;
};

void write_heatmap(const Heatmap& map, const std::string& path);

bool plotting_available();  // gnuplot found on PATH

}  // namespace lengen::report
