// ftpsim sweep: runs one scenario over the cartesian product of --vary values and prints which
// cells work, as a pivot table (text, Markdown) or one row per cell (CSV, JSON). With --shard K/N
// it runs every N-th cell; `--format json` then writes a shard document that `ftpsim sweep merge`
// joins with the other shards' into what one run over every cell prints (docs/sweep.md).
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

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

// Runs the cells in `jobs` forked workers; each writes "idx ok summary" lines to its pipe. The
// workers take the next cell from a counter they share (cells differ in cost, so a fixed deal
// would leave one worker idle at the end); a cell's result does not depend on who runs it.
std::string run_parallel(const std::string& file, const std::vector<std::string>& base_sets,
                         const std::vector<Dimension>& dims, const std::vector<std::size_t>& cells,
                         int jobs, bool progress, std::vector<CellResult>& results) {
    if (cells.empty()) return "";
    // The first cell runs here, before the fork: the workers inherit what a process's first
    // simulation sets up once (SimGrid's start-up, the dynamic linker's bindings, a warm heap)
    // instead of each paying for it again (measured: 15% more instructions with two workers).
    std::size_t done = 0;
    {
        auto sets = base_sets;
        auto extra = cell_sets(dims, cells[0]);
        sets.insert(sets.end(), extra.begin(), extra.end());
        try {
            results[cells[0]] = run_cell(file, sets);
        } catch (const scenario::ScenarioError& e) {
            return e.what();
        }
        if (progress) progress_bar(++done, cells.size());
    }
    // Every value of every dimension, each loaded once by one worker before its cells.
    std::vector<std::string> values;
    for (const auto& d : dims)
        for (const auto& v : d.values) values.push_back(d.key + "=" + v);
    auto validate = [&](const std::string& value) {
        auto sets = base_sets;
        sets.push_back(value);
        scenario::load_file(file, sets);
    };
    if (cells.size() == 1) {
        try {
            for (const auto& v : values) validate(v);
        } catch (const scenario::ScenarioError& e) {
            return e.what();
        }
        return "";
    }
    if (static_cast<std::size_t>(jobs) > cells.size() - 1) jobs = static_cast<int>(cells.size() - 1);
    struct Shared {
        std::atomic<std::size_t> next_cell;
        std::atomic<bool> abort;  // a worker found a bad value: the others stop
    };
    void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return "sweep: cannot map memory shared with the workers";
    auto* shared = new (mem) Shared{{1}, {false}};
    auto* next_cell = &shared->next_cell;
    std::vector<int> fds;
    std::vector<pid_t> pids;
    for (int w = 0; w < jobs; ++w) {
        int p[2];
        if (pipe(p) != 0) return "sweep: cannot create a pipe";
        pid_t pid = fork();
        if (pid < 0) return "sweep: cannot start a worker process";
        if (pid == 0) {
            close(p[0]);
            for (int fd : fds) close(fd);
            FILE* out = fdopen(p[1], "w");
            for (std::size_t v = static_cast<std::size_t>(w); v < values.size(); v += static_cast<std::size_t>(jobs)) {
                try {
                    validate(values[v]);
                } catch (const scenario::ScenarioError& e) {
                    shared->abort = true;
                    std::fprintf(out, "0 E %s\n", e.what());
                    std::fclose(out);
                    _exit(0);
                }
            }
            for (std::size_t i = next_cell->fetch_add(1); i < cells.size() && !shared->abort;
                 i = next_cell->fetch_add(1)) {
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
    std::size_t open_fds = fds.size();
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
    munmap(mem, sizeof(Shared));
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

// The results of `cells` in one of the formats; `ftpsim sweep merge` prints through it too, so a
// merged sweep is byte for byte what one run prints.
void print_results(const std::string& format, const std::vector<Dimension>& dims, const std::vector<std::size_t>& cells,
                   const std::vector<CellResult>& results) {
    if (format == "csv") {
        for (const auto& d : dims) std::cout << csv_field(d.key) << ",";
        std::cout << "ok,result\n";
        for (std::size_t idx : cells) {
            for (std::size_t d = 0; d < dims.size(); ++d) std::cout << csv_field(value_of(dims, idx, d)) << ",";
            std::cout << (results[idx].ok ? "true" : "false") << "," << csv_field(results[idx].summary) << "\n";
        }
    } else if (format == "json") {
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
        print_pivot(dims, cells, results, format == "md");
        std::size_t ok = 0;
        for (std::size_t idx : cells) ok += results[idx].ok;
        std::cout << "\n" << ok << " of " << cells.size() << " cells work\n";
    }
}

// A shard's results as a document `ftpsim sweep merge` reads: the sweep it belongs to (the
// dimensions with their values in order, the --set overrides, the number of cells, K/N) and
// each cell's index with its result.
void print_shard(const SweepFlags& f, const std::vector<Dimension>& dims, std::size_t total, std::size_t k,
                 std::size_t n, const std::vector<std::size_t>& cells, const std::vector<CellResult>& results) {
    nlohmann::ordered_json doc;
    doc["ftpsim_sweep_shard"] = 1;
    doc["shard"] = {k, n};
    doc["scenario"] = f.file;
    doc["sets"] = f.sets;
    nlohmann::ordered_json vary = nlohmann::ordered_json::array();
    for (const auto& d : dims) vary.push_back({{"key", d.key}, {"values", d.values}});
    doc["vary"] = vary;
    doc["cells"] = total;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (std::size_t idx : cells)
        rows.push_back({{"cell", idx}, {"ok", results[idx].ok}, {"result", results[idx].summary}});
    doc["results"] = rows;
    std::cout << doc.dump(1) << "\n";
}

}  // namespace

int cmd_sweep(const SweepFlags& f) {
    if (f.file.empty() || f.vary.empty()) {
        std::fprintf(stderr, "ftpsim sweep: %s\nRun 'ftpsim sweep --help' for the usage.\n",
                     f.file.empty() ? "a scenario file is required" : "--vary KEY=V1,V2,... is required");
        return kExitBadInput;
    }
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
    // Validate the base scenario here, before forking; every value is validated once too, by the
    // workers before their cells (run_parallel), so that a bad value stops the sweep at once.
    try {
        scenario::load_file(f.file, f.sets);
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

    if (!f.shard.empty() && f.format == "json") {
        print_shard(f, dims, total, shard_k, shard_n, cells, results);
        return kExitOk;
    }
    print_results(f.format, dims, cells, results);
    return kExitOk;
}

int cmd_sweep_merge(const SweepMergeFlags& f) {
    if (f.files.empty()) {
        std::fprintf(stderr, "ftpsim sweep merge: give the shards' JSON files (ftpsim sweep --shard K/N --format json)\n");
        return kExitBadInput;
    }
    std::vector<Dimension> dims;
    nlohmann::json first_vary, first_sets;
    std::size_t total = 0, n = 0;
    std::map<std::size_t, std::string> shard_file;  // K -> the file that holds it
    std::vector<CellResult> results;
    std::string first_file;
    auto bad = [](const std::string& file, const std::string& what) {
        std::fprintf(stderr, "%s: %s\n", file.c_str(), what.c_str());
        return kExitBadInput;
    };
    for (const auto& file : f.files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) return bad(file, "cannot open the shard file");
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            return bad(file, std::string("not a sweep shard (JSON): ") + e.what());
        }
        try {
            if (!doc.is_object() || doc.value("ftpsim_sweep_shard", 0) != 1)
                return bad(file, "not a sweep shard: expected the output of ftpsim sweep --shard K/N --format json");
            const auto k = doc.at("shard").at(0).get<std::size_t>();
            const auto kn = doc.at("shard").at(1).get<std::size_t>();
            const auto cells = doc.at("cells").get<std::size_t>();
            if (first_file.empty()) {
                first_file = file;
                first_vary = doc.at("vary");
                first_sets = doc.at("sets");
                n = kn;
                total = cells;
                for (const auto& d : first_vary) {
                    Dimension dim{d.at("key").get<std::string>(), d.at("values").get<std::vector<std::string>>()};
                    if (dim.values.empty()) return bad(file, "dimension " + dim.key + " has no values");
                    dims.push_back(std::move(dim));
                }
                std::size_t product = 1;
                for (const auto& d : dims) product *= d.values.size();
                if (dims.empty() || product != total)
                    return bad(file, "the dimensions make " + std::to_string(product) + " cells, the shard says " +
                                         std::to_string(total));
                results.assign(total, CellResult{});
            } else if (doc.at("vary") != first_vary || doc.at("sets") != first_sets || kn != n || cells != total) {
                return bad(file, "a shard of another sweep than " + first_file +
                                     " (its --vary, --set or number of shards differ)");
            }
            if (k < 1 || k > n) return bad(file, "shard " + std::to_string(k) + "/" + std::to_string(n) + " is out of range");
            if (auto [it, fresh] = shard_file.emplace(k, file); !fresh)
                return bad(file, "shard " + std::to_string(k) + "/" + std::to_string(n) + " is also in " + it->second);
            for (const auto& r : doc.at("results")) {
                const auto idx = r.at("cell").get<std::size_t>();
                if (idx >= total || idx % n != k - 1)
                    return bad(file, "cell " + std::to_string(idx) + " does not belong to shard " + std::to_string(k) +
                                         "/" + std::to_string(n));
                if (results[idx].done) return bad(file, "cell " + std::to_string(idx) + " appears twice");
                results[idx] = {true, r.at("ok").get<bool>(), r.at("result").get<std::string>()};
            }
        } catch (const nlohmann::json::exception& e) {
            return bad(file, std::string("not a sweep shard: ") + e.what());
        }
    }
    std::string missing;
    for (std::size_t k = 1; k <= n; ++k)
        if (!shard_file.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(n);
    if (!missing.empty()) return bad(first_file, "shards missing from the merge: " + missing);
    std::vector<std::size_t> cells;
    for (std::size_t i = 0; i < total; ++i) {
        if (!results[i].done) return bad(shard_file[i % n + 1], "cell " + std::to_string(i) + " is missing from its shard");
        cells.push_back(i);
    }
    print_results(f.format, dims, cells, results);
    return kExitOk;
}

}  // namespace ftpsim::app
