using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace QcPipeline.Service.ResultsStore.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ResultsInitial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Audit",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    Actor = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Action = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Entity = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    EntityKey = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Detail = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Audit", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Devices",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Key = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    DeviceSerialNumber = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    StationName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    CallingAe = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    Manufacturer = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    ManufacturerModelName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    Modality = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    InstitutionName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    DisplayName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    Site = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    LimitsJson = table.Column<string>(type: "TEXT", nullable: true),
                    FirstSeenAt = table.Column<long>(type: "INTEGER", nullable: false),
                    LastSeenAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Devices", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "LabelFindings",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ClaimId = table.Column<Guid>(type: "TEXT", nullable: false),
                    SeriesInstanceUid = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    DeviceId = table.Column<long>(type: "INTEGER", nullable: false),
                    RuleId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Severity = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    MessageEn = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    MessageZh = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    Keyword = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    InstanceCount = table.Column<int>(type: "INTEGER", nullable: false),
                    FirstInstance = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    At = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LabelFindings", x => x.Id);
                    table.ForeignKey(
                        name: "FK_LabelFindings_Devices_DeviceId",
                        column: x => x.DeviceId,
                        principalTable: "Devices",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "Results",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ClaimId = table.Column<Guid>(type: "TEXT", nullable: false),
                    StudyInstanceUid = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SeriesInstanceUid = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    DeviceId = table.Column<long>(type: "INTEGER", nullable: false),
                    Profile = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    AlgorithmVersion = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Verdict = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    InconclusiveReason = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    LimitSetId = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    LimitSetVersion = table.Column<int>(type: "INTEGER", nullable: false),
                    InstanceCount = table.Column<int>(type: "INTEGER", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    AnalyzedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    DurationMs = table.Column<double>(type: "REAL", nullable: false),
                    Json = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Results", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Results_Devices_DeviceId",
                        column: x => x.DeviceId,
                        principalTable: "Devices",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "ResultMetrics",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ResultId = table.Column<long>(type: "INTEGER", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Value = table.Column<double>(type: "REAL", nullable: true),
                    Unit = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    LimitMin = table.Column<double>(type: "REAL", nullable: true),
                    LimitMax = table.Column<double>(type: "REAL", nullable: true),
                    Verdict = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ResultMetrics", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ResultMetrics_Results_ResultId",
                        column: x => x.ResultId,
                        principalTable: "Results",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Audit_Entity_EntityKey_At",
                table: "Audit",
                columns: new[] { "Entity", "EntityKey", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_Devices_Key",
                table: "Devices",
                column: "Key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_LabelFindings_DeviceId_At",
                table: "LabelFindings",
                columns: new[] { "DeviceId", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_LabelFindings_SeriesInstanceUid_ClaimId",
                table: "LabelFindings",
                columns: new[] { "SeriesInstanceUid", "ClaimId" });

            migrationBuilder.CreateIndex(
                name: "IX_ResultMetrics_ResultId_Name",
                table: "ResultMetrics",
                columns: new[] { "ResultId", "Name" });

            migrationBuilder.CreateIndex(
                name: "IX_Results_DeviceId_Profile_AnalyzedAt",
                table: "Results",
                columns: new[] { "DeviceId", "Profile", "AnalyzedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Results_SeriesInstanceUid_Profile_AlgorithmVersion_ClaimId",
                table: "Results",
                columns: new[] { "SeriesInstanceUid", "Profile", "AlgorithmVersion", "ClaimId" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Audit");

            migrationBuilder.DropTable(
                name: "LabelFindings");

            migrationBuilder.DropTable(
                name: "ResultMetrics");

            migrationBuilder.DropTable(
                name: "Results");

            migrationBuilder.DropTable(
                name: "Devices");
        }
    }
}
