"""Index a video corpus and search it with a paragraph: ranked videos and a moment per sentence.

    python examples/search_corpus.py --model outputs/demo

Uses the synthetic benchmark's test videos as the corpus (any ``{video_id: (T, D)}`` mapping, HDF5 file or npy folder
works the same). CLI equivalent: ``dmr-jrg index --model DIR --features FEATURES --output-dir INDEX`` then
``dmr-jrg search --model DIR --index INDEX "first sentence. second sentence."``.
"""

from __future__ import annotations

import argparse

from transformers import AutoModel

from dmr_jrg_hf import DMRJRGProcessor  # importing dmr_jrg_hf registers the Auto* classes
from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
from dmr_jrg_hf.inference import VideoCorpusIndex, retrieve_and_ground


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="outputs/demo", help="model folder (dmr-jrg demo/train) or Hub repo id")
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args()

    model = AutoModel.from_pretrained(args.model).eval()
    processor = DMRJRGProcessor.from_pretrained(args.model)
    benchmark = generate_synthetic_benchmark()
    corpus = benchmark.videos_dataset("test")  # video_id + (T, D) features; duration = frames / rate
    index = VideoCorpusIndex.build(model, processor, corpus)
    index.save("outputs/index")  # reload with VideoCorpusIndex.load("outputs/index")

    query = benchmark.paragraphs["test"][0]
    for result in retrieve_and_ground(model, processor, query["sentences"], index, top_k=args.top_k):
        print(f"{result.hit.rank}. {result.hit.video_id} score {result.hit.score:.3f} ({result.duration:.0f} s)")
        for sentence in result.sentences:
            moment = sentence.moments[0]
            print(f"     [{moment.start:6.1f}, {moment.end:6.1f}] {moment.score:.2f}  {sentence.sentence}")
    print(f"ground truth: {query['video_id']} {query['timestamps']}")


if __name__ == "__main__":
    main()
