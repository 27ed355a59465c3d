"""Packaging for dmr_jrg_hf: weakly supervised video paragraph retrieval and grounding (DMR-JRG)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "dmr_jrg_hf" / "version.py").read_text()).group(1)

INSTALL_REQUIRES = [
    "torch>=2.4",
    "transformers>=5.0,<6",
    "datasets>=4.0",
    "accelerate>=1.0",
    "safetensors>=0.4",
    "gensim>=4.3",
    "evaluate>=0.4",
    "numpy>=1.26",
    "h5py>=3.10",
    "tqdm>=4.66",
    "huggingface_hub>=1.0",
]

EXTRAS_REQUIRE = {
    "dev": ["pytest>=8", "ruff==0.17.6", "playwright>=1.40"],  # playwright drives Debian's chromium in the app test
    "faiss": ["faiss-cpu>=1.8"],
    "tensorboard": ["tensorboard>=2.15"],
    "viz": ["matplotlib>=3.8"],
    "app": ["gradio>=6.0,<7", "matplotlib>=3.8"],
    "video": ["av>=18.1"],  # PyAV decodes video files for `dmr-jrg extract-features` (its wheels bundle FFmpeg)
}

setup(
    name="dmr_jrg_hf",
    version=VERSION,
    description="DMR-JRG: weakly supervised video paragraph retrieval and grounding for the Hugging Face ecosystem",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["dmr_jrg_hf", "dmr_jrg_hf.*"]),
    package_data={"dmr_jrg_hf": ["metrics/dmr_jrg/*.py", "metrics/dmr_jrg/*.md", "hub/*.md"]},
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["dmr-jrg=dmr_jrg_hf.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: Apache Software License",
    ],
)
