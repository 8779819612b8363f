//! FAQ benchmark: query latency with the shipped library and with a synthetic library of
//! 10,000 entries, and the time to build the index of 10,000 entries. Each query figure is set
//! against a peer measured in the same run: the straightforward matcher a small bot would write
//! (score every entry by the character bigrams it shares with the question, best wins).
//!
//! Run: `cargo bench -p zhibu-commands --bench faq`. Criterion reports means; the p50/p99 table
//! printed first times every query one by one (the goals are p99).

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use zhibu_commands::faq::{FaqEntry, FaqIndex, FaqRules, Thresholds};
use zhibu_commands::shipped::faq_library;

/// Questions members ask: the project's own test questions' style, colloquial, with typos,
/// English mixed in, and questions the library cannot answer.
const QUESTIONS: &[&str] = &[
    "几岁可以入党",
    "入党申请书交给谁啊",
    "积极分子怎么选出来的",
    "政审都查些啥",
    "发展对象培训几天",
    "支部大会表决要多少人同意",
    "介绍人要几个人",
    "预备期多久",
    "预被期多长",
    "怎么转正",
    "党龄从哪天算起",
    "党员有哪些权利",
    "工资5000块党费交多少",
    "三会一课指的是啥",
    "组织生活会一年开几次",
    "思想汇报多久交一次",
    "入党誓词全文",
    "what is 三会一课",
    "党费 how much 学生",
    "入党介绍人的要求 requirements",
    "今天星期几",
    "图书馆几点关门",
    "帮我写一篇思想汇报",
    "奖学金什么时候发",
    "how do I reset my password",
    "宿舍空调坏了找谁修",
    "你好",
];

/// The straightforward matcher: bigrams of every entry's question, alternatives and keywords,
/// scored by overlap with the question's bigrams (Jaccard), scanning every entry.
struct Naive {
    entries: Vec<(HashSet<(char, char)>, usize)>,
}

fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

impl Naive {
    fn build(entries: &[FaqEntry]) -> Self {
        let entries = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut set = bigrams(&e.question);
                for t in e.alternatives.iter().chain(&e.keywords) {
                    set.extend(bigrams(t));
                }
                (set, i)
            })
            .collect();
        Naive { entries }
    }

    fn search(&self, question: &str) -> Option<usize> {
        let q = bigrams(question);
        self.entries
            .iter()
            .map(|(set, i)| (set.intersection(&q).count() as f64 / (set.len() + q.len()).max(1) as f64, *i))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(s, _)| *s > 0.0)
            .map(|(_, i)| i)
    }
}

/// A deterministic library of `n` entries made from the shipped library's vocabulary: each
/// synthetic entry combines the question, keywords and answer sentences of a few shipped ones,
/// so term frequencies and lengths look like a real, large branch library.
fn synthetic(n: usize) -> Vec<FaqEntry> {
    let (shipped, _) = faq_library().expect("shipped library");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    (0..n)
        .map(|i| {
            let a = &shipped[next(shipped.len())];
            let b = &shipped[next(shipped.len())];
            let kw = |e: &FaqEntry, k: usize| e.keywords.get(k % e.keywords.len().max(1)).cloned().unwrap_or_default();
            FaqEntry {
                id: format!("syn-{i}"),
                topic: a.topic.clone(),
                question: format!("{}（{}，第{}条）", a.question.trim_end_matches('？'), kw(b, i), i),
                alternatives: vec![format!("{}和{}", kw(a, i), kw(b, i + 1)), b.question.clone()],
                keywords: vec![kw(a, i + 2), kw(b, i + 3)],
                answer: format!("{}{}", a.answer, b.answer.chars().take(80).collect::<String>()),
                source: a.source.clone(),
            }
        })
        .collect()
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    (at(0.50), at(0.99))
}

/// Every question timed on its own, `rounds` times over.
fn timed(rounds: usize, mut query: impl FnMut(&str)) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(rounds * QUESTIONS.len());
    for _ in 0..rounds {
        for q in QUESTIONS {
            let start = Instant::now();
            query(q);
            samples.push(start.elapsed());
        }
    }
    percentiles(samples)
}

fn report(name: &str, entries: &[FaqEntry], rules: &FaqRules) -> FaqIndex {
    let start = Instant::now();
    let index = FaqIndex::build(entries.to_vec(), rules, Thresholds::DEFAULT);
    let build = start.elapsed();
    let naive = Naive::build(entries);
    let (p50, p99) = timed(200, |q| {
        black_box(index.search(q));
    });
    let (n50, n99) = timed(200, |q| {
        black_box(naive.search(q));
    });
    println!(
        "{name}: {} entries, index built in {:.1} ms; zhibu p50 {:.1} µs p99 {:.1} µs; naive scan p50 {:.1} µs p99 {:.1} µs; p99 ratio naive/zhibu {:.2}",
        entries.len(),
        build.as_secs_f64() * 1e3,
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        n50.as_secs_f64() * 1e6,
        n99.as_secs_f64() * 1e6,
        n99.as_secs_f64() / p99.as_secs_f64(),
    );
    index
}

fn bench(c: &mut Criterion) {
    let (shipped, rules) = faq_library().expect("shipped library");
    let large = synthetic(10_000);
    let shipped_index = report("shipped", &shipped, &rules);
    let large_index = report("synthetic", &large, &rules);

    let mut group = c.benchmark_group("faq");
    group.bench_function("query/shipped (27 questions)", |b| b.iter(|| QUESTIONS.iter().for_each(|q| drop(black_box(shipped_index.search(q))))));
    group.bench_function("query/10k (27 questions)", |b| b.iter(|| QUESTIONS.iter().for_each(|q| drop(black_box(large_index.search(q))))));
    let naive = Naive::build(&large);
    group.bench_function("naive scan/10k (27 questions)", |b| {
        b.iter(|| {
            QUESTIONS.iter().for_each(|q| {
                black_box(naive.search(q));
            })
        })
    });
    group.sample_size(10);
    group.bench_function("build/10k", |b| b.iter(|| FaqIndex::build(black_box(large.clone()), &rules, Thresholds::DEFAULT)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
