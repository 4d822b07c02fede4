"""Neural Noether embedding (Algorithm 1) vs vanilla and symbolic tailoring: state data and pixels.

    nice python benchmarks/bench_neural.py --part state --seeds 0 1 2
    nice python benchmarks/bench_neural.py --part video --seeds 0 1

Prints Markdown tables and writes the raw numbers of each seed to runs/bench_neural_<part>_seed<N>.json;
``--report`` prints the tables over all saved seeds.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.integrate import solve_ivp

from conslaw.neural import (
    EmbeddingMLP,
    FieldMLP,
    FrameEmbedding,
    FramePredictor,
    Tailoring,
    clip_sampler,
    frame_embedding,
    frame_step,
    initial_meta,
    law_embedding,
    make_pendulum_videos,
    meta_train,
    module_embedding,
    mse_per_frame,
    parameters_of,
    predict_sequences,
    pretrain_field,
    psnr_per_frame,
    rk4_step,
    rollout_rmse,
    ssim_per_frame,
    window_sampler,
)

RESULTS = Path(__file__).resolve().parent.parent / "runs"


# ----------------------------------------------------------------------------- state data
def pendulum_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, str]:
    """Train/test trajectories (25, 45, 2), their exact dx/dt, dt and the true law."""
    try:
        from conslaw.datasets import load_dataset

        dataset = load_dataset("pendulum", seed=seed)
        train = np.stack([t.x for t in dataset.train])
        test = np.stack([t.x for t in dataset.test])
        train_dxdt = np.stack([t.dxdt for t in dataset.train])
        return train, test, train_dxdt, dataset.train[0].t, float(dataset.metadata["dt"]), dataset.true_law
    except ImportError:  # built here with scipy when the datasets module is absent
        rng = np.random.default_rng(seed)
        times = np.linspace(0, 3, 45)
        trajectories = []
        for _ in range(50):
            direction = rng.random(2) * 2 - 1
            start = direction / np.linalg.norm(direction) * rng.uniform(1.3, 2.3)
            solution = solve_ivp(lambda t, z: [2 * z[1], -3 * np.sin(z[0])], (0, 3), start, t_eval=times,
                                 rtol=1e-10, atol=1e-12)
            trajectories.append(solution.y.T)
        data = np.array(trajectories)
        dxdt = np.stack([2 * data[..., 1], -3 * np.sin(data[..., 0])], axis=-1)
        return data[:25], data[25:], dxdt[:25], times, times[1] - times[0], "p**2 - 3*cos(q)"


def energy_r2(embedding: torch.nn.Module, phi: dict, states: np.ndarray, energy: np.ndarray) -> float:
    """R^2 of the best linear map from the learned embedding features to the true energy."""
    with torch.no_grad():
        features = torch.func.functional_call(embedding, phi, (torch.as_tensor(states, dtype=torch.float32),)).numpy()
    design = np.column_stack([features, np.ones(len(states))])
    coefficients, *_ = np.linalg.lstsq(design, energy, rcond=None)
    residual = energy - design @ coefficients
    return float(1 - residual.var() / energy.var())


def run_state(seed: int, args: argparse.Namespace) -> dict:
    torch.manual_seed(seed)
    train, test, train_dxdt, _, dt, true_law = pendulum_data(seed)
    timings = {}
    field = FieldMLP(2, hidden=200)
    start = time.time()
    theta = pretrain_field(field, train.reshape(-1, 2), train_dxdt.reshape(-1, 2), n_steps=args.pretrain_steps)
    timings["pretrain"] = time.time() - start
    step = rk4_step(field, dt)
    horizon = train.shape[1] - 1

    def rmse(parameters, trajectories, tailoring=None, meta=None) -> float:
        contexts = torch.as_tensor(trajectories[:, :1], dtype=torch.float32)
        with torch.no_grad() if tailoring is None else torch.enable_grad():
            predictions = predict_sequences(step, parameters, contexts, horizon, tailoring, meta,
                                            tailor_horizon=args.train_horizon)
        return rollout_rmse(predictions, trajectories)

    energy = Tailoring(law_embedding(true_law, ["q", "p"]), form=args.form)
    sweep = {lr: rmse(theta, train, energy, initial_meta({}, lr)) for lr in args.inner_lrs}
    best_lr = min(sweep, key=lambda lr: sweep[lr] if math.isfinite(sweep[lr]) else math.inf)
    rows = {
        "pretrained (HNN baseline MLP)": {"test": rmse(theta, test), "train": rmse(theta, train)},
        "pretrained + tailoring with true law, no meta (lr from train sweep)": {
            "test": rmse(theta, test, energy, initial_meta({}, best_lr)), "train": sweep[best_lr], "inner_lr": best_lr},
    }

    sampler = window_sampler(train, args.train_horizon, args.batch_size)
    common = dict(outer_lr=args.outer_lr, embedding_lr=args.embedding_lr, inner_lr_lr=args.inner_lr_lr, seed=seed)
    start = time.time()
    vanilla = meta_train(step, theta, sampler, args.meta_steps, **common)
    timings["vanilla"] = time.time() - start
    rows["vanilla: + rollout training, same budget, no inner step"] = {
        "test": rmse(vanilla.theta, test), "train": rmse(vanilla.theta, train)}

    start = time.time()
    symbolic = meta_train(step, theta, sampler, args.meta_steps, energy, initial_meta({}, best_lr), **common)
    timings["symbolic"] = time.time() - start
    rows["symbolic: meta-tailored with true law"] = {
        "test": rmse(symbolic.theta, test, energy, symbolic.meta),
        "train": rmse(symbolic.theta, train, energy, symbolic.meta),
        "inner_lr": float(symbolic.meta["log_inner_lr"].exp())}

    embedding = EmbeddingMLP(2, n_features=args.features, hidden=64)
    neural_tailoring = Tailoring(module_embedding(embedding), form=args.form)
    start = time.time()
    neural = meta_train(step, theta, sampler, args.meta_steps, neural_tailoring,
                        initial_meta(parameters_of(embedding), args.neural_inner_lr), **common)
    timings["neural"] = time.time() - start
    test_states = test.reshape(-1, 2)
    true_energy = test_states[:, 1] ** 2 - 3 * np.cos(test_states[:, 0])
    rows["neural Noether: meta-learned g_phi (Algorithm 1)"] = {
        "test": rmse(neural.theta, test, neural_tailoring, neural.meta),
        "train": rmse(neural.theta, train, neural_tailoring, neural.meta),
        "inner_lr": float(neural.meta["log_inner_lr"].exp()),
        "energy_r2": energy_r2(embedding, neural.meta["embedding"], test_states, true_energy)}
    rows["neural Noether model evaluated without its inner step"] = {
        "test": rmse(neural.theta, test), "train": rmse(neural.theta, train)}
    return {"seed": seed, "rows": rows, "timings": timings, "sweep": sweep,
            "final_losses": {"vanilla": vanilla.losses[-1], "symbolic": symbolic.losses[-1],
                             "neural": neural.losses[-1]}}


def print_state(results: list[dict], args: argparse.Namespace) -> None:
    print(f"\n## State data: ideal pendulum, RK4 rollout RMSE over {args.seeds} seeds "
          f"(45 points, 25 test trajectories, tailor/train horizon {args.train_horizon}, "
          f"{args.meta_steps} outer steps, Noether form {args.form})\n")
    names = list(results[0]["rows"])
    print("| method | " + " | ".join(f"seed {r['seed']}" for r in results) + " | mean test | mean train |")
    print("|---" * (len(results) + 3) + "|")
    for name in names:
        tests = [r["rows"][name]["test"] for r in results]
        trains = [r["rows"][name]["train"] for r in results]
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in tests) + f" | {np.mean(tests):.4f} | {np.mean(trains):.4f} |")
    extras = [(r["seed"], r["rows"]["neural Noether: meta-learned g_phi (Algorithm 1)"], r["rows"]["symbolic: meta-tailored with true law"]) for r in results]
    print("\n| seed | swept inner lr (no meta) | learned inner lr (symbolic) | learned inner lr (neural) | R^2 energy ~ g_phi features | seconds pretrain / vanilla / symbolic / neural |")
    print("|---|---|---|---|---|---|")
    for (seed, neural, symbolic), r in zip(extras, results):
        t = r["timings"]
        swept = r["rows"]["pretrained + tailoring with true law, no meta (lr from train sweep)"]["inner_lr"]
        print(f"| {seed} | {swept:.3g} | {symbolic['inner_lr']:.3g} | {neural['inner_lr']:.3g} | {neural['energy_r2']:.3f} | "
              f"{t['pretrain']:.0f} / {t['vanilla']:.0f} / {t['symbolic']:.0f} / {t['neural']:.0f} |")


# ----------------------------------------------------------------------------- pixels
def frame_metrics(predictions: torch.Tensor, targets: torch.Tensor) -> dict:
    """Mean MSE, PSNR and SSIM over videos, per predicted frame index and overall."""
    mse = mse_per_frame(predictions, targets)
    psnr = psnr_per_frame(predictions.clamp(0, 1), targets)
    ssim = ssim_per_frame(predictions.clamp(0, 1), targets)
    return {"mse": mse.mean(0).tolist(), "psnr": psnr.mean(0).tolist(), "ssim": ssim.mean(0).tolist()}


def run_video(seed: int, args: argparse.Namespace) -> dict:
    torch.manual_seed(seed)
    train = make_pendulum_videos(args.train_videos, args.frames, args.size, seed=1000 + seed)
    test = make_pendulum_videos(args.test_videos, args.context + args.eval_horizon, args.size, seed=2000 + seed)
    predictor = FramePredictor(context=args.context, width=args.width)
    embedding = FrameEmbedding(args.size, n_features=args.features, width=8)
    theta0 = parameters_of(predictor)
    step = frame_step(predictor)
    sampler = clip_sampler(train.frames, args.context, args.train_horizon, args.batch_size)
    common = dict(outer_lr=args.outer_lr, embedding_lr=args.embedding_lr, inner_lr_lr=args.inner_lr_lr, seed=seed)
    tailoring = Tailoring(frame_embedding(embedding), form=args.form)

    start = time.time()
    vanilla = meta_train(step, theta0, sampler, args.meta_steps, **common)
    vanilla_time = time.time() - start
    start = time.time()
    neural = meta_train(step, theta0, sampler, args.meta_steps, tailoring,
                        initial_meta(parameters_of(embedding), args.neural_inner_lr), **common)
    neural_time = time.time() - start

    contexts = torch.as_tensor(test.frames[:, :args.context])
    targets = torch.as_tensor(test.frames[:, args.context:])

    def evaluate(parameters, tailor=None, meta=None) -> dict:
        chunks = []
        for index in range(0, len(contexts), 16):
            with torch.no_grad() if tailor is None else torch.enable_grad():
                chunks.append(predict_sequences(step, parameters, contexts[index:index + 16], args.eval_horizon,
                                                tailor, meta, tailor_horizon=args.train_horizon).detach())
        return frame_metrics(torch.cat(chunks), targets)

    rows = {
        "vanilla (same budget, no inner step)": evaluate(vanilla.theta),
        "Noether: meta-learned CNN g_phi, tailored": evaluate(neural.theta, tailoring, neural.meta),
        "Noether model evaluated without its inner step": evaluate(neural.theta),
        "copy last context frame": frame_metrics(contexts[:, -1:].expand_as(targets), targets),
    }
    return {"seed": seed, "rows": rows, "timings": {"vanilla": vanilla_time, "neural": neural_time},
            "inner_lr": float(neural.meta["log_inner_lr"].exp()),
            "final_losses": {"vanilla": float(np.mean(vanilla.losses[-20:])), "neural": float(np.mean(neural.losses[-20:]))}}


def print_video(results: list[dict], args: argparse.Namespace) -> None:
    print(f"\n## Pixels: rendered pendulum {args.size}x{args.size}, {args.train_videos} train / {args.test_videos} test videos, "
          f"{args.context} context frames, trained on {args.train_horizon}-frame clips, evaluated on {args.eval_horizon} "
          f"frames, {args.meta_steps} outer steps, Noether form {args.form}; mean over seeds {args.seeds}\n")
    names = list(results[0]["rows"])
    spans = {f"frames 1-{args.train_horizon}": slice(0, args.train_horizon), f"frames 1-{args.eval_horizon}": slice(0, args.eval_horizon)}
    print("| method | " + " | ".join(f"{m} ({s})" for s in spans for m in ("MSE", "PSNR", "SSIM")) + " |")
    print("|---" * (1 + 3 * len(spans)) + "|")
    for name in names:
        cells = []
        for span in spans.values():
            for metric in ("mse", "psnr", "ssim"):
                value = np.mean([np.mean(r["rows"][name][metric][span]) for r in results])
                cells.append(f"{value:.5f}" if metric == "mse" else f"{value:.3f}" if metric == "psnr" else f"{value:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| seed | vanilla MSE (1-eval) | Noether MSE (1-eval) | learned inner lr | seconds vanilla / Noether |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['seed']} | {np.mean(r['rows'][names[0]]['mse']):.5f} | {np.mean(r['rows'][names[1]]['mse']):.5f} | "
              f"{r['inner_lr']:.3g} | {r['timings']['vanilla']:.0f} / {r['timings']['neural']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["state", "video"], required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--meta-steps", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="a tiny configuration to check the script")
    parser.add_argument("--report", action="store_true",
                        help="print the tables from the saved runs/bench_neural_<part>_seed*.json files")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.part == "state":
        defaults = dict(pretrain_steps=2000, meta_steps=200, train_horizon=10, batch_size=32, form="a",
                        outer_lr=1e-4, embedding_lr=1e-3, inner_lr_lr=1e-2, features=4, neural_inner_lr=1e-3,
                        inner_lrs=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
        if args.quick:
            defaults.update(pretrain_steps=200, meta_steps=3)
    else:
        defaults = dict(train_videos=256, test_videos=64, frames=32, size=32, context=2, train_horizon=10,
                        eval_horizon=20, width=16, features=16, batch_size=16, meta_steps=400, form="b",
                        outer_lr=1e-3, embedding_lr=1e-3, inner_lr_lr=2e-2, neural_inner_lr=1e-2)
        if args.quick:
            defaults.update(train_videos=16, test_videos=8, meta_steps=3, eval_horizon=12)
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    runner, printer = (run_state, print_state) if args.part == "state" else (run_video, print_video)
    if args.report:
        files = sorted(RESULTS.glob(f"bench_neural_{args.part}_seed*.json"))
        saved = [json.loads(f.read_text()) for f in files]
        for key, value in saved[0]["args"].items():
            setattr(args, key, value)
        args.seeds = [r["seed"] for r in saved]
        printer(saved, args)
        return
    for seed in args.seeds:
        result = runner(seed, args)
        result["args"] = {k: v for k, v in vars(args).items() if k not in ("seeds", "report")}
        if not args.quick:
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"bench_neural_{args.part}_seed{seed}.json").write_text(json.dumps(result, indent=1))
        printer([result], args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
