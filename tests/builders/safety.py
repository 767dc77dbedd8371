"""Tiny safety models: a Detoxify checkpoint of a random BERT, and SD safety checkers that flag all or nothing."""

from __future__ import annotations

from pathlib import Path

DETOXIFY_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def write_tiny_detoxify(folder: Path, seed: int = 0) -> Path:
    """A Detoxify checkpoint of a random 2-layer BERT (``folder/detoxify.ckpt``) with its transformers config and a
    small WordPiece vocabulary beside it (the folder to configure as ``SDQ_DETOXIFY_CONFIG``)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    words = ["a", "the", "lighthouse", "at", "dusk", "oil", "painting", "cat", "dog", "red", "door", "hate"]
    words += ["kill", "stupid", "you", "are", "i", "will"]
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=5 + len(words),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    config.num_labels = len(DETOXIFY_CLASSES)
    config.save_pretrained(folder)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    arch = {
        "model_type": "bert-base-uncased",  # what Detoxify's released checkpoints name; the loader swaps in folder
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": len(DETOXIFY_CLASSES),
    }
    checkpoint = {
        "config": {"arch": {"args": arch}, "dataset": {"args": {"classes": DETOXIFY_CLASSES}}},
        "state_dict": model.state_dict(),
    }
    torch.save(checkpoint, folder / "detoxify.ckpt")
    return folder / "detoxify.ckpt"


def write_tiny_safety_checker(folder: Path, *, flags_everything: bool, seed: int = 0) -> Path:
    """A random ``StableDiffusionSafetyChecker`` (``safety_checker/`` + ``feature_extractor/``) whose concept
    thresholds make it flag every image (-1: any cosine similarity exceeds it) or none (2: none can)."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    tower = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2}
    config = CLIPConfig(
        text_config={**tower, "vocab_size": 100, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1},
        vision_config={**tower, "image_size": 32, "patch_size": 8},
        projection_dim=32,
    )
    torch.manual_seed(seed)
    checker = StableDiffusionSafetyChecker(config)
    with torch.no_grad():
        threshold = -1.0 if flags_everything else 2.0
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(threshold)
    checker.save_pretrained(folder / "safety_checker")
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder / "feature_extractor"
    )
    return folder
