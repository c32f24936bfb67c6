// Figures drawn by gnuplot (issue 6): a plot is a self-contained gnuplot script with its data
// inline, written beside the images it draws (PREFIX.gp → PREFIX.png and PREFIX.svg), so that a
// figure can be redrawn or restyled without diffdfl. The helpers here build such scripts; the
// figures themselves live in report.h (curves, bars, samples, memory) and scalability.h.
//
// Example:
//   std::string data = "$d << EOD\n1 2\n2 4\nEOD\n";
//   std::string body = "plot $d using 1:2 with linespoints title " + gp_quote("y = 2x") + "\n";
//   PlotFiles f = run_gnuplot_script(gnuplot_script("figures/line", data, body, 800, 500),
//                                    "figures/line");  // figures/line.{gp,png,svg}
#pragma once

#include <string>
#include <utility>

namespace diffdfl::reports {

/// The files one plot wrote.
struct PlotFiles {
  std::string script;  ///< PREFIX.gp
  std::string png;
  std::string svg;
};

/// True when a `gnuplot` executable is on PATH.
bool gnuplot_available();

/// Writes `script` to PREFIX.gp and runs gnuplot on it (the script must write PREFIX.png and
/// PREFIX.svg). IoError when gnuplot is missing, exits non-zero, or leaves an output empty.
PlotFiles run_gnuplot_script(const std::string& script, const std::string& prefix);

/// The whole script: the inline `data` blocks, then `body` drawn once to PREFIX.png (pngcairo) and
/// once to PREFIX.svg, at width × height pixels.
std::string gnuplot_script(const std::string& prefix, const std::string& data,
                           const std::string& body, int width, int height);

/// A number for inline gnuplot data (12 significant digits); NaN, an undefined point, for a
/// non-finite value.
std::string gp_num(double v);

/// A gnuplot single-quoted string ('' is a literal quote inside).
std::string gp_quote(const std::string& s);

/// A string column of inline gnuplot data (double-quoted; embedded double quotes become single).
std::string gp_data_string(const std::string& s);

/// {rows, cols} of a multiplot holding n panels (at most three columns).
std::pair<int, int> multiplot_layout(size_t n);

}  // namespace diffdfl::reports
