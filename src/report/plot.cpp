#include "report/plot.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "report/gnuplot.h"
#include "util/error.h"

namespace lengen::report {
namespace {

using detail::quote;

// Okabe-Ito colours (distinguishable with colour-blindness, and in greyscale by point type).
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#F0E442"};
constexpr const char* kMarkerColour = "#555555";
// Filled circle, square, triangle up, triangle down, diamond, pentagon, then open variants.
constexpr int kPointTypes[] = {7, 5, 9, 11, 13, 15, 6, 4, 8, 10, 12, 14};

enum class Format { png, svg };

Format format_of(const std::string& path, const std::string& what) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == ".png") return Format::png;
  if (ext == ".svg") return Format::svg;
  fail("cannot draw {} to {}: unknown image format '{}' (expected .png or .svg)", what, path, ext);
}

// Terminal setup shared by all figures. "noenhanced": labels such as "rope_base^2" print as-is.
std::string terminal(Format format, int width, int height, const std::string& what) {
  if (width < 16 || height < 16 || width > 20000 || height > 20000)
    fail("{}: image size {}x{} is out of range", what, width, height);
  if (format == Format::svg)
    return fmt::format(
        "set terminal svg size {},{} noenhanced font 'sans,12' background rgb 'white'\n", width,
        height);
  // pngcairo draws anti-aliased lines and proper fonts; gd's png is the fallback on builds
  // without cairo.
  return fmt::format(
      "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {{\n"
      "  set terminal pngcairo size {0},{1} noenhanced font 'sans,11' background rgb 'white'\n"
      "}} else {{\n"
      "  set terminal png truecolor size {0},{1} noenhanced background rgb 'white'\n"
      "}}\n",
      width, height);
}

std::string labels(const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  return fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n", quote(title), quote(xlabel),
                     quote(ylabel));
}

// A data value for an inline datablock; gnuplot reads "NaN" as undefined.
std::string number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "NaN"; }

std::string what_plot(const std::string& title) {
  return title.empty() ? std::string("plot") : fmt::format("plot '{}'", title);
}

// Runs `body` (everything after the terminal and output lines) and renames the image into place.
void draw(const std::string& setup, const std::string& body, const std::string& path,
          const std::string& what) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const std::string script =
      fmt::format("{}set output {}\n{}unset output\n", setup, quote(tmp), body);
  detail::run_gnuplot(script, tmp, what);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("cannot draw {}: cannot rename {} to {}: {}", what, tmp, path, std::strerror(err));
  }
}

void check_series(const Series& s, const std::string& what) {
  if (s.x.empty()) fail("{}: series '{}' is empty", what, s.label);
  if (s.x.size() != s.y.size())
    fail("{}: series '{}' has {} x values but {} y values", what, s.label, s.x.size(), s.y.size());
  const bool band = !s.y_low.empty() || !s.y_high.empty();
  if (band && (s.y_low.size() != s.x.size() || s.y_high.size() != s.x.size()))
    fail("{}: series '{}' has {} points but an error band of {} low and {} high values", what,
         s.label, s.x.size(), s.y_low.size(), s.y_high.size());
}

// Datablock $d<i>: "x y" or "x y low high" per line; a blank line (a gap) replaces any point
// with a non-finite x or y.
std::string datablock(size_t index, const Series& s) {
  const bool band = !s.y_low.empty();
  std::string out = fmt::format("$d{} << EOD\n", index);
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
      out += "\n";
      continue;
    }
    out += fmt::format("{} {}", number(s.x[i]), number(s.y[i]));
    if (band) out += fmt::format(" {} {}", number(s.y_low[i]), number(s.y_high[i]));
    out += '\n';
  }
  return out + "EOD\n";
}

// Explicit tick labels "set xtics ('a' 0, 'b' 1, ...)", thinned to at most ~24 so they stay
// legible.
std::string tick_labels(const char* axis, const std::vector<std::string>& names) {
  if (names.empty()) return "";
  const size_t step = (names.size() + 23) / 24;
  std::string out = fmt::format("set {}tics (", axis);
  for (size_t i = 0; i < names.size(); i += step)
    out += fmt::format("{}{} {}", i ? ", " : "", quote(names[i]), i);
  return out + ")\n";
}

}  // namespace

bool plotting_available() { return detail::find_gnuplot().has_value(); }

void write_line_plot(const LinePlot& plot, const std::string& path) {
  const std::string what = what_plot(plot.title);
  const Format format = format_of(path, what);
  if (plot.series.empty()) fail("{}: no series to draw", what);
  for (const auto& s : plot.series) check_series(s, what);
  for (const auto& [name, v] : {std::pair{"ymin", plot.ymin}, std::pair{"ymax", plot.ymax}}) {
    if (v && !std::isfinite(*v)) fail("{}: {} is not finite", what, name);
    if (v && plot.log_y && *v <= 0) fail("{}: {} = {} with a logarithmic y axis", what, name, *v);
  }
  if (plot.ymin && plot.ymax && *plot.ymin >= *plot.ymax)
    fail("{}: ymin {} is not below ymax {}", what, *plot.ymin, *plot.ymax);
  if (plot.marker_x && !std::isfinite(*plot.marker_x)) fail("{}: marker_x is not finite", what);

  std::string body = labels(plot.title, plot.xlabel, plot.ylabel);
  body +=
      "set border 3 lw 1.2\nset tics nomirror out\n"
      "set grid xtics ytics lt 1 lw 1 lc rgb '#e5e5e5' back\n"
      "set key outside right top vertical Left reverse samplen 2.5 spacing 1.3\n"
      "set offsets graph 0.02, graph 0.02, 0, 0\n";
  body += fmt::format("set yrange [{}:{}]\n", plot.ymin ? number(*plot.ymin) : "*",
                      plot.ymax ? number(*plot.ymax) : "*");
  if (plot.log_y) body += "set logscale y\n";

  double xlo = INFINITY, xhi = -INFINITY;
  for (const auto& s : plot.series)
    for (double x : s.x)
      if (std::isfinite(x)) xlo = std::min(xlo, x), xhi = std::max(xhi, x);
  if (plot.marker_x) {
    const double m = *plot.marker_x;
    // gnuplot's autoscaling ignores arrows: widen the x range when the marker lies outside it.
    if (std::isfinite(xlo) && (m < xlo || m > xhi)) {
      const double lo = std::min(xlo, m), hi = std::max(xhi, m), pad = 0.02 * (hi - lo);
      body += fmt::format("set xrange [{}:{}]\n", number(lo - pad), number(hi + pad));
    }
    body += fmt::format(
        "set arrow from first {0}, graph 0 to first {0}, graph 1 nohead dt 2 lw 1.5 "
        "lc rgb '{1}' front\n",
        number(m), kMarkerColour);
  }

  std::vector<std::string> bands, lines;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    const char* colour = kColours[i % std::size(kColours)];
    const int pt = kPointTypes[i % std::size(kPointTypes)];
    body += datablock(i, s);
    if (!s.y_low.empty())
      bands.push_back(fmt::format(
          "$d{} using 1:3:4 with filledcurves lc rgb '{}' fs transparent solid 0.18 noborder "
          "notitle",
          i, colour));
    lines.push_back(
        fmt::format("$d{} using 1:2 with linespoints lc rgb '{}' lw 2 pt {} ps 1.1 title {}", i,
                    colour, pt, quote(s.label)));
  }
  // The marker is explained in the legend (a label beside the line would cover data).
  if (plot.marker_x && !plot.marker_label.empty())
    lines.push_back(fmt::format("keyentry with lines dt 2 lw 1.5 lc rgb '{}' title {}",
                                kMarkerColour, quote(plot.marker_label)));
  // Bands first, so every line is drawn over every band.
  bands.insert(bands.end(), lines.begin(), lines.end());
  body += "plot ";
  for (size_t i = 0; i < bands.size(); ++i) {
    if (i) body += ", \\\n     ";
    body += bands[i];
  }
  body += "\n";
  draw(terminal(format, plot.width, plot.height, what), body, path, what);
}

void write_heatmap(const Heatmap& map, const std::string& path) {
  const std::string what = what_plot(map.title.empty() ? "heatmap" : map.title);
  const Format format = format_of(path, what);
  if (map.rows <= 0 || map.cols <= 0) fail("{}: {}x{} is empty", what, map.rows, map.cols);
  if (map.values.size() != size_t(map.rows) * size_t(map.cols))
    fail("{}: {} values for {} rows x {} cols", what, map.values.size(), map.rows, map.cols);
  if (!map.row_labels.empty() && map.row_labels.size() != size_t(map.rows))
    fail("{}: {} row labels for {} rows", what, map.row_labels.size(), map.rows);
  if (!map.col_labels.empty() && map.col_labels.size() != size_t(map.cols))
    fail("{}: {} column labels for {} columns", what, map.col_labels.size(), map.cols);

  std::string body = labels(map.title, map.xlabel, map.ylabel);
  // Viridis: perceptually uniform, readable in greyscale. Row 0 at the top, as in a matrix.
  body +=
      "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n"
      "set tics out nomirror\nunset key\n";
  body +=
      fmt::format("set xrange [-0.5:{}]\nset yrange [{}:-0.5]\n", map.cols - 0.5, map.rows - 0.5);
  body += tick_labels("x", map.col_labels) + tick_labels("y", map.row_labels);
  if (map.zmin && map.zmax) body += fmt::format("set cbrange [{}:{}]\n", *map.zmin, *map.zmax);
  if (map.col_labels.size() > 8) body += "set xtics rotate by 45 right\n";
  body += "$m << EOD\n";
  for (int r = 0; r < map.rows; ++r) {
    for (int c = 0; c < map.cols; ++c)
      body += fmt::format("{}{}", c ? " " : "",
                          number(map.values[size_t(r) * size_t(map.cols) + size_t(c)]));
    body += "\n";
  }
  body += "EOD\nplot $m matrix with image notitle\n";
  draw(terminal(format, map.width, map.height, what), body, path, what);
}

}  // namespace lengen::report
