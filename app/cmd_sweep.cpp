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
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "app/output.hpp"
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

// The sweep as the runner needs it: the scenario's text (read once, not once per cell), the name
// its messages give, the --set overrides and the dimensions.
struct Sweep {
    std::string file;
    std::string text;
    std::vector<std::string> base_sets;
    std::vector<Dimension> dims;
};

CellResult run_cell(const Sweep& sw, std::size_t idx) {
    auto sets = sw.base_sets;
    auto extra = cell_sets(sw.dims, idx);
    sets.insert(sets.end(), extra.begin(), extra.end());
    CellResult r;
    r.done = true;
    auto s = scenario::load_string(sw.text, sw.file, sets);  // ScenarioError propagates: bad input
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

// Every value of every dimension as one override: each is loaded once before the cells, so that
// a bad value stops the sweep at once, with the same message whoever finds it.
std::vector<std::string> every_value(const Sweep& sw) {
    std::vector<std::string> values;
    for (const auto& d : sw.dims)
        for (const auto& v : d.values) values.push_back(d.key + "=" + v);
    return values;
}

void validate_value(const Sweep& sw, const std::string& value) {
    auto sets = sw.base_sets;
    sets.push_back(value);
    scenario::load_string(sw.text, sw.file, sets);
}

void progress_bar(std::size_t done, std::size_t total) {
    int width = 40;
    int filled = total ? static_cast<int>(width * done / total) : width;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), done, total);
    if (done == total) std::fprintf(stderr, "\n");
}

// What stops a sweep, in the order a serial run meets it: the first cell, then the first bad
// value (in --vary order), then the first cell (in cell order) whose combination of values the
// loader refuses. Bad input: exit 2 with the loader's message. Anything else is an internal error
// (std::runtime_error, exit 3): an exception other than ScenarioError, a worker that died.
struct SweepStop {
    std::string message;  // empty: every cell has its result
};

// All cells in this process, in order (--jobs 1: a worker would only add a fork, copied pages
// and a pipe).
SweepStop run_serial(const Sweep& sw, const std::vector<std::size_t>& cells, bool progress,
                     std::vector<CellResult>& results) {
    try {
        results[cells[0]] = run_cell(sw, cells[0]);
        if (progress) progress_bar(1, cells.size());
        for (const auto& v : every_value(sw)) validate_value(sw, v);
        for (std::size_t i = 1; i < cells.size(); ++i) {
            results[cells[i]] = run_cell(sw, cells[i]);
            if (progress) progress_bar(i + 1, cells.size());
        }
    } catch (const scenario::ScenarioError& e) {
        return {e.what()};
    }
    return {};
}

// A worker's report on its pipe: "KIND INDEX LENGTH\n" then LENGTH bytes (a message may hold any
// byte). R = the result of cells[INDEX] ("1 ok" / "0 FAIL 425"), V = values[INDEX] is bad,
// C = the loader refused cells[INDEX], X = an internal error in cells[INDEX].
void put_record(FILE* out, char kind, std::size_t index, const std::string& payload) {
    std::fprintf(out, "%c %zu %zu\n", kind, index, payload.size());
    std::fwrite(payload.data(), 1, payload.size(), out);
}

struct Record {
    char kind = 0;
    std::size_t index = 0;
    std::string payload;
};

// The complete records at the front of `buf`, removed from it.
std::vector<Record> take_records(std::string& buf) {
    std::vector<Record> out;
    std::size_t at = 0;
    for (;;) {
        auto nl = buf.find('\n', at);
        if (nl == std::string::npos) break;
        Record r;
        std::size_t len = 0;
        if (std::sscanf(buf.c_str() + at, "%c %zu %zu", &r.kind, &r.index, &len) != 3)
            throw std::runtime_error("sweep: a worker process sent a malformed report");
        if (buf.size() - (nl + 1) < len) break;
        r.payload = buf.substr(nl + 1, len);
        out.push_back(std::move(r));
        at = nl + 1 + len;
    }
    buf.erase(0, at);
    return out;
}

// The first cell runs here, then `jobs` forked workers take the next cell from a counter they
// share (cells differ in cost: a fixed deal would leave one worker idle at the end; each takes
// one cell at a time, which costs one atomic add per cell of about a millisecond) and report on
// a pipe, buffered: the parent sleeps in poll() until a buffer or the worker ends (with a
// progress bar, after every cell). A cell's result does not depend on who runs it.
SweepStop run_parallel(const Sweep& sw, const std::vector<std::size_t>& cells, int jobs, bool progress,
                       std::vector<CellResult>& results) {
    // The first cell before the fork: the workers inherit what a process's first simulation sets
    // up once (SimGrid's start-up, the dynamic linker's bindings, a warm heap) instead of each
    // paying for it again.
    try {
        results[cells[0]] = run_cell(sw, cells[0]);
    } catch (const scenario::ScenarioError& e) {
        return {e.what()};
    }
    std::size_t done = 1;
    if (progress) progress_bar(done, cells.size());
    const auto values = every_value(sw);
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    if (static_cast<std::size_t>(jobs) > cells.size() - 1) jobs = static_cast<int>(cells.size() - 1);
    struct Shared {
        std::atomic<std::size_t> next_cell;  // position in `cells`
        std::atomic<std::size_t> bad_value;  // the lowest bad value found: nobody runs cells
        std::atomic<std::size_t> bad_cell;   // the lowest refused cell: nobody runs later cells
    };
    static_assert(std::atomic<std::size_t>::is_always_lock_free);
    void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("sweep: cannot map memory shared with the workers");
    auto* shared = new (mem) Shared{{1}, {kNone}, {kNone}};
    auto lower = [](std::atomic<std::size_t>& a, std::size_t v) {
        for (std::size_t cur = a.load(); v < cur && !a.compare_exchange_weak(cur, v);) {
        }
    };
    std::vector<int> fds;
    std::vector<pid_t> pids;
    for (int w = 0; w < jobs; ++w) {
        int p[2];
        if (pipe(p) != 0) throw std::runtime_error("sweep: cannot create a pipe");
        std::fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("sweep: cannot start a worker process");
        if (pid == 0) {
            close(p[0]);
            for (int fd : fds) close(fd);
            FILE* out = fdopen(p[1], "w");
            if (!out) _exit(1);  // the parent reports a worker that failed
            static char buf[1 << 16];
            std::setvbuf(out, buf, _IOFBF, sizeof buf);
            const auto step = static_cast<std::size_t>(jobs);
            for (std::size_t v = static_cast<std::size_t>(w); v < values.size() && v < shared->bad_value; v += step) {
                try {
                    validate_value(sw, values[v]);
                } catch (const scenario::ScenarioError& e) {
                    lower(shared->bad_value, v);
                    put_record(out, 'V', v, e.what());
                    break;
                }
            }
            for (std::size_t i = shared->next_cell.fetch_add(1); i < cells.size(); i = shared->next_cell.fetch_add(1)) {
                if (shared->bad_value != kNone || i > shared->bad_cell) break;
                try {
                    CellResult r = run_cell(sw, cells[i]);
                    put_record(out, 'R', i, (r.ok ? "1 " : "0 ") + r.summary);
                } catch (const scenario::ScenarioError& e) {
                    lower(shared->bad_cell, i);
                    put_record(out, 'C', i, e.what());
                } catch (const std::exception& e) {
                    put_record(out, 'X', i, e.what());
                    break;
                }
                if (progress) std::fflush(out);
            }
            std::fclose(out);
            _exit(0);
        }
        close(p[1]);
        fds.push_back(p[0]);
        pids.push_back(pid);
    }
    std::vector<std::string> partial(fds.size());
    std::map<std::size_t, std::string> bad_values, bad_cells, internal;
    std::size_t open_fds = fds.size();
    std::vector<pollfd> pfds;
    while (open_fds > 0) {
        pfds.clear();
        for (int fd : fds)
            if (fd >= 0) pfds.push_back({fd, POLLIN, 0});
        if (poll(pfds.data(), pfds.size(), -1) < 0) continue;  // EINTR
        for (const auto& p : pfds) {
            if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
            std::size_t w = 0;
            while (fds[w] != p.fd) ++w;
            char buf[1 << 16];
            ssize_t n = read(p.fd, buf, sizeof buf);
            if (n < 0) continue;  // EINTR
            if (n == 0) {
                close(p.fd);
                fds[w] = -1;
                --open_fds;
                continue;
            }
            partial[w].append(buf, static_cast<std::size_t>(n));
            for (auto& r : take_records(partial[w])) {
                if (r.index >= (r.kind == 'V' ? values.size() : cells.size()))
                    throw std::runtime_error("sweep: a worker process reported an index out of range");
                if (r.kind == 'V') {
                    bad_values.emplace(r.index, r.payload);
                } else if (r.kind == 'C') {
                    bad_cells.emplace(r.index, r.payload);
                } else if (r.kind == 'X') {
                    internal.emplace(r.index, r.payload);
                } else {
                    results[cells[r.index]] = {true, r.payload.rfind("1 ", 0) == 0, r.payload.substr(2)};
                    if (progress) progress_bar(++done, cells.size());
                }
            }
        }
    }
    std::string died;
    for (pid_t p : pids) {
        int status = 0;
        waitpid(p, &status, 0);
        if (WIFSIGNALED(status))
            died = "sweep: a worker process was killed by signal " + std::to_string(WTERMSIG(status));
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            died = "sweep: a worker process failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    }
    munmap(mem, sizeof(Shared));
    if (!bad_values.empty()) return {bad_values.begin()->second};
    if (!bad_cells.empty()) return {bad_cells.begin()->second};
    if (!internal.empty()) throw std::runtime_error(internal.begin()->second);
    if (!died.empty()) throw std::runtime_error(died);
    for (std::size_t idx : cells)
        if (!results[idx].done)
            throw std::runtime_error("sweep: cell " + std::to_string(idx) + " has no result (a worker ended early)");
    return {};
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
        print_error(err);
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
            print_error("--shard " + f.shard + ": expected K/N with 1 <= K <= N (e.g. 3/8)");
            return kExitBadInput;
        }
    }
    // Validate the base scenario here, before forking; every value is validated once too, before
    // the cells after the first (run_serial, run_parallel), so that a bad value stops the sweep at once.
    Sweep sw{f.file, "", f.sets, dims};
    try {
        scenario::load_file(f.file, f.sets);
    } catch (const scenario::ScenarioError& e) {
        print_error(e.what());
        return kExitBadInput;
    }
    {
        // The file passed load_file's checks (readable, at most 4 MiB): every cell loads this text.
        std::ifstream in(f.file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        sw.text = text.str();
    }
    std::vector<std::size_t> cells;
    for (std::size_t i = 0; i < total; ++i)
        if (i % shard_n == shard_k - 1) cells.push_back(i);
    bool progress = f.progress == "always" || (f.progress == "auto" && isatty(STDERR_FILENO));
    std::vector<CellResult> results(total);
    std::fflush(stdout);
    SweepStop stop;
    if (!cells.empty())
        stop = f.jobs <= 1 || cells.size() == 1 ? run_serial(sw, cells, progress, results)
                                                 : run_parallel(sw, cells, f.jobs, progress, results);
    if (!stop.message.empty()) {
        print_error(stop.message);
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
        print_error(file + ": " + what);
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
