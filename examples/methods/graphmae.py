"""GraphMAE on Cora (or the graph plugin's synthetic graph), assembled by hand from maskssl's parts.

    python examples/methods/graphmae.py                      # 20 full-batch steps (about 20 s of CPU time)
    python examples/methods/graphmae.py --steps 300

Cora is read from $MASKSSL_SHARED_DATA/planetoid (default ../shared/data/planetoid beside the repository); when
it is absent the plugin's synthetic stochastic-block graph (1000 nodes, no files) is used instead.

GraphMAE (Hou et al., "GraphMAE: Self-Supervised Masked Graph Autoencoders", KDD 2022) masks nodes, not
edges: half of the nodes are hidden, their input features replaced by a learnable mask token (a few by
another node's features), and a GAT encoder runs on the whole graph. Before decoding, the hidden nodes'
states are masked again (set to 0), so a single-layer GAT decoder must rebuild their features from their
neighbours' states alone. The loss is the scaled cosine error (1 - cos(prediction, features))^alpha over
the hidden nodes, which down-weights the nodes already well reconstructed. A batch is the whole graph as one
sequence of tokens: B = 1, L = N nodes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from maskssl.maskers import RandomMasker
from maskssl.model import MaskedAutoencoder
from maskssl_graph import GATDecoder, GATEncoder, GraphDataConfig, GraphModality, GraphModelConfig

REPO = Path(__file__).resolve().parents[2]
PLANETOID = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data")) / "planetoid"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="full-batch training steps (one per epoch)")
    args = parser.parse_args()
    torch.manual_seed(0)

    # The plugin's data and tokenizer: Cora's 2708 nodes x 1433 row-normalised word features, or the synthetic graph
    name = "Cora" if (PLANETOID / "Cora" / "raw" / "ind.cora.x").is_file() else "synthetic"
    modality = GraphModality(GraphDataConfig(dataset=name, root=str(PLANETOID)), GraphModelConfig(alpha=3.0))
    graph = modality.collate([modality.build_dataset("train")[0]])  # the whole graph, self-loops added

    # Encoder, decoder, masker and the composite model, with the arguments the modality would inject
    encoder = GATEncoder(
        in_dim=modality.feature_dim, pooling=modality.model.pooling,  # F (Cora: 1433); the readout of graph tasks
        hidden_dim=256, num_heads=4, num_layers=2,  # D = 4 heads x 64
        in_drop=0.2, attn_drop=0.1, activation="prelu", replace_rate=0.05,  # 5% of hidden nodes: another's features
    )
    decoder = GATDecoder(encoder_dim=encoder.embed_dim, out_dim=modality.feature_dim, in_drop=0.2, attn_drop=0.1)
    model = MaskedAutoencoder(
        encoder=encoder,
        decoders=[decoder],  # one view
        masker=RandomMasker(ratio=0.5),  # hides half of the nodes (Cora: 1354 of 2708)
        reconstruction=modality.reconstruction_loss,  # scaled cosine error over the hidden nodes
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=2e-4)

    losses: list[float] = []
    model.train()
    for step in range(1, args.steps + 1):
        tokens = modality.tokenize(graph, torch.device("cpu"))
        # tokens.inputs  [N, F] node features (kept sparse for bag-of-words data), read by the encoder only
        # tokens.targets [B=1, L=N, T=F]: the features to rebuild
        # tokens.context edge_index [2, E] (both directions, self-loops); sample [S=256] nodes for Encoded.pooled
        out = model(tokens)  # mask -> corrupt + encode the whole graph -> re-mask + decode -> SCE on hidden nodes
        view = out.views[0]
        # view.mask            [1, N] bool, True = hidden: N / 2 nodes
        # view.encoded.latent  [1, N, D=256]: every node's state (hidden nodes entered with the mask token)
        # view.encoded.pooled  [S=256, 256]: the sampled nodes' states (what a regularizer or probe would read)
        # view.decoded.hidden  [1, N, 256]: the decoder's input, hidden rows re-masked to 0; its GAT layer
        #                      predicts the F features of the hidden nodes, which the loss reads directly
        assert view.mask.shape == tokens.targets.shape[:2] and view.encoded.latent.shape[-1] == 256
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
        print(f"step {step:3d}  loss {losses[-1]:.4f}  ({int(view.mask.sum())} of {tokens.num_tokens} nodes hidden)")

    print(f"GraphMAE on {name}: first loss {losses[0]:.4f}, last loss {losses[-1]:.4f}")
    if len(losses) > 1 and not losses[-1] < losses[0]:
        raise SystemExit("the loss did not go down")


if __name__ == "__main__":
    main()
