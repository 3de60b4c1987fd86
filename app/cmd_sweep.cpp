// ftpsim sweep: runs one scenario over the cartesian product of --vary values and prints which
// cells work, as a pivot table (text, Markdown) or one row per cell (CSV, JSON).
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "app/commands.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

namespace ftpsim::app {
namespace {

struct Dimension {
    std::string key;
    std::vector<std::string> values;
};

struct CellResult {
    bool done = false;
    bool ok = false;
    std::string summary;  // "ok", "FAIL 425", "FAIL no reply", "ERROR ..."
};

std::string parse_dimensions(const std::vector<std::string>& vary, std::vector<Dimension>& out) {
    for (const auto& v : vary) {
        auto eq = v.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
            return "--vary " + v + ": expected KEY=V1,V2,... (e.g. clients.client.mode=port,pasv)";
        Dimension d{v.substr(0, eq), {}};
        for (const auto& prev : out)
            if (prev.key == d.key)
                return "--vary " + v + ": the key " + d.key + " is already varied (give its values in one --vary)";
        std::stringstream ss(v.substr(eq + 1));
        for (std::string item; std::getline(ss, item, ',');)
            if (!item.empty()) d.values.push_back(item);
        out.push_back(d);
    }
    return "";
}

std::vector<std::string> cell_sets(const std::vector<Dimension>& dims, std::size_t idx) {
    std::vector<std::string> sets;
    for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
        sets.insert(sets.begin(), it->key + "=" + it->values[idx % it->values.size()]);
        idx /= it->values.size();
    }
    return sets;
}

std::string value_of(const std::vector<Dimension>& dims, std::size_t idx, std::size_t dim) {
    for (std::size_t d = dims.size(); d-- > dim + 1;) idx /= dims[d].values.size();
    return dims[dim].values[idx % dims[dim].values.size()];
}

CellResult run_cell(const std::string& file, std::vector<std::string> sets) {
    CellResult r;
    r.done = true;
    auto s = scenario::load_file(file, sets);  // ScenarioError propagates: bad input
    sim::RunOptions ro;
    ro.verify_fixes = false;
    ro.record_segments = false;
    trace::Trace t = sim::run(s, ro);
    r.ok = t.outcome.ok;
    if (r.ok) {
        r.summary = "ok";
    } else {
        r.summary = "FAIL";
        for (const auto& tr : t.outcome.transfers)
            if (!tr.ok) {
                r.summary += tr.reply ? " " + std::to_string(tr.reply) : " no-reply";
                break;
            }
    }
    return r;
}

void progress_bar(std::size_t done, std::size_t total) {
    int width = 40;
    int filled = total ? static_cast<int>(width * done / total) : width;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), done, total);
    if (done == total) std::fprintf(stderr, "\n");
}

// Runs the cells in `jobs` forked workers; each writes "idx ok summary" lines to its pipe.
std::string run_parallel(const std::string& file, const std::vector<std::string>& base_sets,
                         const std::vector<Dimension>& dims, const std::vector<std::size_t>& cells,
                         int jobs, bool progress, std::vector<CellResult>& results) {
    std::vector<int> fds;
    std::vector<pid_t> pids;
    for (int w = 0; w < jobs; ++w) {
        int p[2];
        if (pipe(p) != 0) return "sweep: cannot create a pipe";
        pid_t pid = fork();
        if (pid < 0) return "sweep: cannot start a worker process";
        if (pid == 0) {
            close(p[0]);
            FILE* out = fdopen(p[1], "w");
            for (std::size_t i = static_cast<std::size_t>(w); i < cells.size(); i += static_cast<std::size_t>(jobs)) {
                auto sets = base_sets;
                auto extra = cell_sets(dims, cells[i]);
                sets.insert(sets.end(), extra.begin(), extra.end());
                try {
                    CellResult r = run_cell(file, sets);
                    std::fprintf(out, "%zu %d %s\n", cells[i], r.ok ? 1 : 0, r.summary.c_str());
                } catch (const scenario::ScenarioError& e) {
                    std::fprintf(out, "%zu E %s\n", cells[i], e.what());
                }
                std::fflush(out);
            }
            std::fclose(out);
            _exit(0);
        }
        close(p[1]);
        fds.push_back(p[0]);
        pids.push_back(pid);
    }
    std::vector<std::string> partial(fds.size());
    std::size_t done = 0, open_fds = fds.size();
    std::string error;
    while (open_fds > 0) {
        std::vector<pollfd> pfds;
        for (int fd : fds)
            if (fd >= 0) pfds.push_back({fd, POLLIN, 0});
        poll(pfds.data(), pfds.size(), -1);
        for (std::size_t w = 0; w < fds.size(); ++w) {
            if (fds[w] < 0) continue;
            bool ready = false;
            for (const auto& p : pfds)
                if (p.fd == fds[w] && (p.revents & (POLLIN | POLLHUP))) ready = true;
            if (!ready) continue;
            char buf[4096];
            ssize_t n = read(fds[w], buf, sizeof buf);
            if (n <= 0) {
                close(fds[w]);
                fds[w] = -1;
                --open_fds;
                continue;
            }
            partial[w].append(buf, static_cast<std::size_t>(n));
            for (auto nl = partial[w].find('\n'); nl != std::string::npos; nl = partial[w].find('\n')) {
                std::string line = partial[w].substr(0, nl);
                partial[w].erase(0, nl + 1);
                std::istringstream ls(line);
                std::size_t idx = 0;
                std::string ok;
                ls >> idx >> ok;
                std::string rest;
                std::getline(ls, rest);
                if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
                if (ok == "E") {
                    if (error.empty()) error = rest;
                    continue;
                }
                results[idx] = {true, ok == "1", rest};
                if (progress) progress_bar(++done, cells.size());
            }
        }
    }
    for (pid_t p : pids) waitpid(p, nullptr, 0);
    return error;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// Pivot: the first dimension's values are the columns, the other dimensions make the rows.
void print_pivot(const std::vector<Dimension>& dims, const std::vector<std::size_t>& cells,
                 const std::vector<CellResult>& results, bool markdown) {
    std::map<std::string, std::map<std::string, std::string>> rows;
    std::vector<std::string> row_order;
    for (std::size_t idx : cells) {
        std::string row;
        for (std::size_t d = 1; d < dims.size(); ++d)
            row += (d > 1 ? " | " : "") + value_of(dims, idx, d);
        if (!rows.count(row)) row_order.push_back(row);
        rows[row][value_of(dims, idx, 0)] = results[idx].summary;
    }
    std::vector<std::string> header;
    for (std::size_t d = 1; d < dims.size(); ++d) header.push_back(dims[d].key);
    for (const auto& v : dims[0].values) header.push_back(dims[0].key + "=" + v);
    std::vector<std::vector<std::string>> table;
    for (const auto& r : row_order) {
        std::vector<std::string> line;
        std::stringstream ss(r);
        for (std::string part; std::getline(ss, part, '|');) {
            while (!part.empty() && part.front() == ' ') part.erase(0, 1);
            while (!part.empty() && part.back() == ' ') part.pop_back();
            line.push_back(part);
        }
        if (dims.size() == 1) line.clear();
        for (const auto& v : dims[0].values) line.push_back(rows[r].count(v) ? rows[r][v] : "");
        table.push_back(line);
    }
    std::vector<std::size_t> w(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        w[c] = header[c].size();
        for (const auto& l : table) w[c] = std::max(w[c], l[c].size());
    }
    auto emit = [&](const std::vector<std::string>& l) {
        std::string out = markdown ? "| " : "";
        for (std::size_t c = 0; c < l.size(); ++c) {
            std::string cell = l[c];
            cell.resize(w[c], ' ');
            out += cell + (markdown ? " | " : "  ");
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        std::cout << out << "\n";
    };
    emit(header);
    std::vector<std::string> rule;
    for (auto x : w) rule.push_back(std::string(x, '-'));
    emit(rule);
    for (const auto& l : table) emit(l);
}

}  // namespace

int cmd_sweep(const SweepFlags& f) {
    std::vector<Dimension> dims;
    if (std::string err = parse_dimensions(f.vary, dims); !err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return kExitBadInput;
    }
    std::size_t total = 1;
    for (const auto& d : dims) total *= d.values.size();
    std::size_t shard_k = 1, shard_n = 1;
    if (!f.shard.empty()) {
        char slash = 0;
        std::istringstream ss(f.shard);
        if (!(ss >> shard_k >> slash >> shard_n) || slash != '/' || shard_n == 0 || shard_k == 0 ||
            shard_k > shard_n || !ss.eof()) {
            std::fprintf(stderr, "--shard %s: expected K/N with 1 <= K <= N (e.g. 3/8)\n", f.shard.c_str());
            return kExitBadInput;
        }
    }
    // Validate the base scenario and every value once, in this process, before forking.
    try {
        scenario::load_file(f.file, f.sets);
        for (const auto& d : dims)
            for (const auto& v : d.values) {
                auto sets = f.sets;
                sets.push_back(d.key + "=" + v);
                scenario::load_file(f.file, sets);
            }
    } catch (const scenario::ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitBadInput;
    }
    std::vector<std::size_t> cells;
    for (std::size_t i = 0; i < total; ++i)
        if (i % shard_n == shard_k - 1) cells.push_back(i);
    bool progress = f.progress == "always" || (f.progress == "auto" && isatty(STDERR_FILENO));
    std::vector<CellResult> results(total);
    std::fflush(stdout);
    std::string err = run_parallel(f.file, f.sets, dims, cells, std::max(1, f.jobs), progress, results);
    if (!err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return kExitBadInput;
    }

    if (f.format == "csv") {
        for (const auto& d : dims) std::cout << csv_field(d.key) << ",";
        std::cout << "ok,result\n";
        for (std::size_t idx : cells) {
            for (std::size_t d = 0; d < dims.size(); ++d) std::cout << csv_field(value_of(dims, idx, d)) << ",";
            std::cout << (results[idx].ok ? "true" : "false") << "," << csv_field(results[idx].summary) << "\n";
        }
    } else if (f.format == "json") {
        std::cout << "[\n";
        for (std::size_t i = 0; i < cells.size(); ++i) {
            std::size_t idx = cells[i];
            std::cout << "  {";
            for (std::size_t d = 0; d < dims.size(); ++d)
                std::cout << json_string(dims[d].key) << ": " << json_string(value_of(dims, idx, d)) << ", ";
            std::cout << "\"ok\": " << (results[idx].ok ? "true" : "false")
                      << ", \"result\": " << json_string(results[idx].summary) << "}"
                      << (i + 1 < cells.size() ? "," : "") << "\n";
        }
        std::cout << "]\n";
    } else {
        print_pivot(dims, cells, results, f.format == "md");
        std::size_t ok = 0;
        for (std::size_t idx : cells) ok += results[idx].ok;
        std::cout << "\n" << ok << " of " << cells.size() << " cells work\n";
    }
    return kExitOk;
}

}  // namespace ftpsim::app
